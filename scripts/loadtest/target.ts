// What the load runner accepts as a target and a duration.
import { isIP } from 'node:net';

export class RefusedTarget extends Error {
  override name = 'RefusedTarget';
}

/** True for 127.0.0.0/8, ::1 and `localhost`: load is only ever sent to this machine. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

/** The target's origin (http://host:port) when it is a plain http(s) URL on a loopback host; throws RefusedTarget otherwise. */
export function assertLoopbackTarget(target: string): string {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new RefusedTarget(`--target ${JSON.stringify(target)} is not a URL (expected e.g. http://127.0.0.1:4000)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RefusedTarget(`--target ${target}: only http and https are supported`);
  if (url.username || url.password) throw new RefusedTarget(`--target ${target}: user information is not allowed in the URL`);
  if (!isLoopbackHost(url.hostname)) {
    throw new RefusedTarget(
      `refusing to load ${url.hostname}: --target must be a loopback address (127.0.0.0/8, ::1 or localhost). Load tests run only against this machine.`,
    );
  }
  return url.origin;
}

/** Seconds from `30`, `30s`, `2m`, `1h`; null when it is none of these or not positive. */
export function parseDuration(text: string): number | null {
  const match = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(text.trim());
  if (!match) return null;
  const seconds = Number(match[1]) * { s: 1, m: 60, h: 3600 }[(match[2] ?? 's') as 's' | 'm' | 'h'];
  return seconds > 0 ? seconds : null;
}
