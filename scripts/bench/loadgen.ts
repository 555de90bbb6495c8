// Load generator of the HTTP benchmark (scripts/bench.ts): a long-lived child process, started
// once per run and pinned to its own core, that runs autocannon for each cell it is sent over IPC
// and answers with a summary. Long-lived so autocannon itself is warm (JIT) for every cell.
//
// Latency percentiles come from every 2xx response's own time (float milliseconds, as autocannon
// measures it); autocannon's histogram keeps whole milliseconds only, too coarse for cached answers.
import { createRequire } from 'node:module';

export interface LoadSpec {
  url: string;
  method: 'GET' | 'POST';
  /** Path and query string; the same for every request unless `bodies` is set. */
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** POST bodies to cycle through, one per request, shared by all connections (in order, from `offset`). */
  bodies?: string[];
  offset?: number;
  connections: number;
  /** Seconds; or `amount` requests in all. */
  durationS?: number;
  amount?: number;
  timeoutS: number;
  /** Count 2xx responses whose JSON has a top-level `errors` (GraphQL errors) as mismatches. */
  checkGraphQLErrors: boolean;
  /**
   * Other statuses that are answers too, timed with the 2xx ones: 304 for a conditional GET. They
   * still count in `statusCodes` and `non2xx` as autocannon counts them.
   */
  alsoAnswers?: number[];
}

export interface LoadResult {
  /** Responses received. */
  requests: number;
  /** Requests written (some may still have been in flight when the run stopped). */
  sent: number;
  durationS: number;
  reqPerSec: number;
  /** Milliseconds, over 2xx responses (and `alsoAnswers` statuses); null when there was none. */
  latency: { p50: number; p90: number; p99: number; max: number; mean: number } | null;
  /** CPU time of the load generator ÷ wall time of the run (1 = one core busy all the time). */
  cpu: number;
  /** autocannon's own whole-millisecond percentiles, for reference. */
  autocannonLatency: { p50: number; p99: number };
  statusCodes: Record<string, number>;
  non2xx: number;
  /** Socket errors, timeouts included. */
  errors: number;
  timeouts: number;
  graphqlErrors: number;
  /** Smallest and largest response (head + body bytes as autocannon counts them). */
  responseBytes: { min: number; max: number };
  /** Requests built from `bodies` (how far the cycle got). */
  bodiesUsed: number;
}

export type LoadMessage = { id: number; spec: LoadSpec };
export type LoadReply = { id: number; result: LoadResult } | { id: number; error: string };

// autocannon 8 ships no types; only the parts used here.
interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  setupRequest?: (request: AutocannonRequest, context: unknown) => AutocannonRequest;
}
interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  mismatches: number;
  non2xx: number;
  statusCodeStats: Record<string, { count: number }>;
  latency: { p50: number; p99: number };
  requests: { total: number; sent: number };
}
interface AutocannonInstance {
  on(event: 'response', listener: (client: unknown, statusCode: number, resBytes: number, responseTime: number) => void): void;
}
type Autocannon = (
  options: Record<string, unknown>,
  callback: (error: Error | null, result: AutocannonResult) => void,
) => AutocannonInstance;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const GRAPHQL_ERRORS = /^\{"errors":|[{,]"errors":\[/;

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;

export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  let minBytes = Number.POSITIVE_INFINITY;
  let maxBytes = 0;
  let next = spec.offset ?? 0;
  let bodiesUsed = 0;
  const bodies = spec.bodies;
  const request: AutocannonRequest = { method: spec.method, path: spec.path, headers: spec.headers };
  if (bodies?.length) {
    request.setupRequest = (req) => {
      bodiesUsed++;
      return { ...req, body: bodies[next++ % bodies.length]! };
    };
  } else if (spec.body !== undefined) {
    request.body = spec.body;
  }
  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        ...(spec.amount ? { amount: spec.amount } : { duration: spec.durationS }),
        timeout: spec.timeoutS,
        requests: [request],
        ...(spec.checkGraphQLErrors ? { verifyBody: (body: unknown) => !GRAPHQL_ERRORS.test(String(body)) } : {}),
      },
      (error, result) => {
        if (error) return reject(error);
        const cpuUsed = process.cpuUsage(cpuStart);
        const cpu = Math.round(((cpuUsed.user + cpuUsed.system) / 1000 / (performance.now() - wallStart)) * 100) / 100;
        const sorted = latencies.subarray(0, count).sort();
        let sum = 0;
        for (const value of sorted) sum += value;
        const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, s]) => [code, s.count]));
        const durationS = result.duration || spec.durationS || 1;
        resolve({
          requests: result.requests.total,
          sent: result.requests.sent,
          durationS,
          reqPerSec: Math.round((result.requests.total / durationS) * 10) / 10,
          latency: sorted.length
            ? {
                p50: round3(percentile(sorted, 50)),
                p90: round3(percentile(sorted, 90)),
                p99: round3(percentile(sorted, 99)),
                max: round3(sorted[sorted.length - 1]!),
                mean: round3(sum / sorted.length),
              }
            : null,
          cpu,
          autocannonLatency: { p50: result.latency.p50, p99: result.latency.p99 },
          statusCodes,
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          graphqlErrors: result.mismatches,
          responseBytes: { min: Number.isFinite(minBytes) ? minBytes : 0, max: maxBytes },
          bodiesUsed,
        });
      },
    );
    instance.on('response', (_client, statusCode, resBytes, responseTime) => {
      if (resBytes < minBytes) minBytes = resBytes;
      if (resBytes > maxBytes) maxBytes = resBytes;
      if ((statusCode < 200 || statusCode > 299) && !spec.alsoAnswers?.includes(statusCode)) return;
      if (count === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[count++] = responseTime;
    });
  });
}

// Child process: one cell at a time, over IPC. Exits when the parent goes away.
if (process.send) {
  process.on('message', (message: LoadMessage) => {
    runLoad(message.spec).then(
      (result) => process.send!({ id: message.id, result } satisfies LoadReply),
      (error: unknown) => process.send!({ id: message.id, error: (error as Error).stack ?? String(error) } satisfies LoadReply),
    );
  });
  process.on('disconnect', () => process.exit(0));
}
