import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../src/auth/keys.js';
import { startTestService, type TestService } from './support/service.js';
import { listenOnLoopback, type Listening } from './support/subscriptions.js';

// Every tool of generation g has version 1.0.g and says so in its description and pattern; a reload
// moves all of them to the next generation in one transaction. A response that shows two
// generations saw part of the catalog before a reload and part after.
const TOOLS = 120;
const RELOADS = 4;
const READERS = 4;
const catalogDir = mkdtempSync(path.join(os.tmpdir(), 'tc-consistency-'));
const toolName = (i: number) => `gen-tool-${String(i).padStart(4, '0')}`;

function writeGeneration(generation: number) {
  mkdirSync(path.join(catalogDir, 'linux'), { recursive: true });
  for (let i = 0; i < TOOLS; i += 1) {
    writeFileSync(
      path.join(catalogDir, 'linux', `${toolName(i)}.yaml`),
      [
        `tool_name: ${toolName(i)}`,
        `version: "1.0.${generation}"`,
        `description: Generated tool ${i}, generation ${generation}.`,
        'platform: linux',
        'category: test',
        'capabilities:',
        '  probe:',
        '    description: Probe something.',
        '    patterns:',
        `      probe_g${generation}:`,
        `        description: Probe, generation ${generation}.`,
        '        time_estimate_ms: "10"',
        '        cost_estimate: "1"',
        '        complexity_score: 0.1',
        '',
      ].join('\n'),
    );
  }
}

// Several root fields and a connection: many statements per request, any two of which a commit
// could fall between.
const READ = `{
  page: tools(first: 30, filter: { platform: "linux", category: "test" }) {
    totalCount
    edges { node { version description capabilities { patterns { name } } } }
  }
  first: tool(name: "${toolName(0)}", platform: "linux") { version latest { version } }
  last: tool(name: "${toolName(TOOLS - 1)}", platform: "linux") { version capabilities { patterns { name } } }
  rest: tools(first: 30, after: null, orderBy: { field: NAME, direction: DESC }, filter: { category: "test" }) { edges { node { version } } }
}`;

/** Every generation a response mentions. */
function generationsIn(data: any): Set<string> {
  const seen = new Set<string>();
  const visit = (value: unknown) => {
    if (typeof value === 'string') {
      for (const match of value.matchAll(/(?:1\.0\.|generation |probe_g)(\d+)/g)) seen.add(match[1]!);
    } else if (value && typeof value === 'object') Object.values(value).forEach(visit);
  };
  visit(data);
  return seen;
}

let service: TestService;
let listening: Listening;
beforeAll(async () => {
  writeGeneration(0);
  service = await startTestService({ catalogDir, cache: { enabled: false, maxEntries: 1, maxBytes: 1024, ttlMs: 1 } });
  // Readers come over real sockets, as the pipeline's do (and so they take turns with the
  // reload's file reads instead of running as one endless chain of promises).
  listening = await listenOnLoopback(service.app);
});
afterAll(async () => {
  await listening?.close();
  await service?.close();
  rmSync(catalogDir, { recursive: true, force: true });
});

describe('reads during reloads', () => {
  it('each response shows one generation of the catalog, and none fails', { timeout: 180_000 }, async () => {
    const editor = { authorization: `Bearer ${await createApiKey(service.db.prisma, 'consistency-editor', 'editor')}` };
    let reloading = false;
    let stop = false;
    const tally = { reads: 0, duringReload: 0, failed: 0, mixed: 0, examples: [] as string[] };
    const deadline = Date.now() + 150_000;
    const reader = async () => {
      while (!stop && Date.now() < deadline) {
        const during = reloading;
        const response = (await (
          await fetch(listening.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: READ }) })
        ).json()) as { data?: unknown; errors?: unknown };
        tally.reads += 1;
        if (during) tally.duringReload += 1;
        if (response.errors || !response.data) {
          tally.failed += 1;
          tally.examples.push(JSON.stringify(response.errors));
          continue;
        }
        const generations = generationsIn(response.data);
        if (generations.size !== 1) {
          tally.mixed += 1;
          if (tally.examples.length < 3) tally.examples.push([...generations].join(','));
        }
      }
    };
    const readers = Array.from({ length: READERS }, reader);
    const durations: number[] = [];
    try {
      for (let generation = 1; generation <= RELOADS; generation += 1) {
        writeGeneration(generation);
        reloading = true;
        const started = performance.now();
        const result = await service.graphql('mutation { reloadCatalog(reason: "consistency") { reload { newVersions error } } }', {}, editor);
        durations.push(performance.now() - started);
        reloading = false;
        expect(result.data?.reloadCatalog.reload).toEqual({ newVersions: TOOLS, error: null });
        // Let the readers see the new generation for a while before the next reload.
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    } finally {
      stop = true;
      await Promise.all(readers);
    }
    console.info(
      `reload of ${TOOLS} tools under ${READERS} readers: ${durations.map((d) => d.toFixed(0)).join(', ')} ms; ` +
        `${tally.reads} reads (${tally.duringReload} during reloads), ${tally.failed} failed, ${tally.mixed} mixed`,
    );
    expect(tally.examples).toEqual([]);
    expect({ failed: tally.failed, mixed: tally.mixed }).toEqual({ failed: 0, mixed: 0 });
    // The readers really did overlap the reloads.
    expect(tally.duringReload).toBeGreaterThan(RELOADS * 2);
    const final = await service.graphql(`{ tool(name: "${toolName(0)}", platform: "linux") { version } }`);
    expect(final.data?.tool.version).toBe(`1.0.${RELOADS}`);
  });
});
