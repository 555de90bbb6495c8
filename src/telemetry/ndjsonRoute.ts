import type { IncomingMessage, ServerResponse } from 'node:http';
import { hasRole, type Caller, type CallerResolver } from '../auth/caller.js';
import type { Logger } from '../logger.js';
import { readBody } from '../http/requestBody.js';
import { MAX_BATCH, type ExecutionIngestor, type RejectionReason } from './ingest.js';

export const EXECUTIONS_PATH = '/executions';

/** One refused line of an NDJSON report (lines count from 1, blank lines included). */
export interface RejectedLine {
  line: number;
  executionId: string | null;
  reason: RejectionReason;
  message: string;
}

export interface NdjsonReport {
  lines: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  rejectedLines: RejectedLine[];
}

function json(res: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}


/** Parses NDJSON text and reports it through the ingestor in batches of MAX_BATCH lines. */
export async function reportNdjson(ingestor: ExecutionIngestor, body: string, actor: string): Promise<NdjsonReport> {
  const report: NdjsonReport = { lines: 0, accepted: 0, duplicates: 0, rejected: 0, rejectedLines: [] };
  const lines = body.split('\n');
  if (lines.at(-1)?.trim() === '') lines.pop();
  report.lines = lines.length;
  let batch: unknown[] = [];
  let batchLines: number[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const summary = await ingestor.ingest(batch, 'ndjson', actor);
    report.accepted += summary.accepted;
    report.duplicates += summary.duplicates;
    report.rejected += summary.rejected;
    for (const result of summary.results) {
      if (result.outcome === 'REJECTED') {
        report.rejectedLines.push({ line: batchLines[result.index]!, executionId: result.executionId, reason: result.reason!, message: result.message! });
      }
    }
    batch = [];
    batchLines = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      report.rejected += 1;
      report.rejectedLines.push({ line: i + 1, executionId: null, reason: 'INVALID_INPUT', message: `not JSON: ${(error as Error).message}` });
      continue;
    }
    batch.push(value);
    batchLines.push(i + 1);
    if (batch.length >= MAX_BATCH) await flush();
  }
  await flush();
  report.rejectedLines.sort((a, b) => a.line - b.line);
  return report;
}

/**
 * `POST /executions`: one run per line (NDJSON), for high-volume reporters. Same rules and role as
 * reportExecutions; answers counts and the rejected lines. It is routed before the GraphQL front
 * door, so it never touches the response cache or the catalog generation.
 */
export function executionsRoute(deps: { ingestor: ExecutionIngestor; resolveCaller: CallerResolver; maxBodyBytes: number; log: Logger }) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return json(res, 405, { error: 'POST one execution per line (application/x-ndjson)' });
    }
    let caller: Caller;
    try {
      caller = await deps.resolveCaller(req.headers.authorization ?? null);
    } catch {
      return json(res, 401, { error: 'the API key is not valid', code: 'UNAUTHENTICATED' });
    }
    if (caller.role === 'anonymous') return json(res, 401, { error: 'this needs an API key (Authorization: Bearer <key>)', code: 'UNAUTHENTICATED' });
    if (!hasRole(caller, 'reporter')) {
      return json(res, 403, { error: `the key ${JSON.stringify(caller.name)} (${caller.role}) may not report executions`, code: 'FORBIDDEN' });
    }
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > deps.maxBodyBytes) {
      req.resume();
      return json(res, 413, { error: `the body is larger than ${deps.maxBodyBytes} bytes` });
    }
    const body = await readBody(req, deps.maxBodyBytes, 'drain');
    if (!body) return json(res, 413, { error: `the body is larger than ${deps.maxBodyBytes} bytes` });
    try {
      json(res, 200, await reportNdjson(deps.ingestor, body.toString('utf8'), caller.name));
    } catch (error) {
      deps.log.error({ err: error }, 'POST /executions failed');
      if (!res.headersSent) json(res, 500, { error: 'Unexpected error.' });
    }
  };
}
