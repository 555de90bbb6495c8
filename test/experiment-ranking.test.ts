import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectTools, type ExperimentArm, type SelectToolsRequest } from '../src/selection/selectTools.js';
import type { CatalogSnapshot } from '../src/memoryCatalog/snapshot.js';
import { startTestService, type TestService } from './support/service.js';

// A unit assigned to an experiment arm gets the arm's best candidate first, and the rule's ranking
// (without it) behind. Selection keeps only the best few candidates plus the arm's; these checks
// hold that against the rule's whole ranking, for arms at every place in it.

let service: TestService;
let snapshot: CatalogSnapshot;
beforeAll(async () => {
  service = await startTestService();
  snapshot = (await service.app.memory.read()).snapshot;
});
afterAll(() => service.close());

const describeCandidate = (candidate: { tool: { name: string; platform: string }; pattern: string; score: number }) =>
  `${candidate.tool.name}/${candidate.tool.platform}/${candidate.pattern}/${candidate.score}`;

describe('an assigned unit in the ranking', () => {
  it('puts the arm first from any place in the rule’s whole ranking, and keeps the rest in order', () => {
    let checked = 0;
    for (const capability of ['log_retrieval', 'connectivity_check', 'process_listing']) {
      for (const preference of ['BALANCED', 'FAST', 'CHEAP'] as const) {
        const base: SelectToolsRequest = { capability, environment: 'NON_PRODUCTION', preference, variables: { N: 500, hosts: 3, lines: 2000 } };
        const whole = selectTools(snapshot, { ...base, limit: 50 }, { stale: false }).candidates;
        const tools = [...new Map(whole.map((candidate) => [`${candidate.tool.name}/${candidate.tool.platform}`, candidate.tool])).values()];
        for (const tool of tools) {
          for (const pattern of [null, whole.filter((c) => c.tool === tool).at(-1)!.pattern]) {
            const arm: ExperimentArm = { experimentKey: 'rank-check', armKey: 'b', bucket: 0.5, tool: { name: tool.name, platform: tool.platform, version: null }, pattern, pinnedTool: null };
            const place = whole.findIndex((c) => c.tool === tool && (pattern === null || c.pattern === pattern));
            for (const limit of [1, 2, 3]) {
              const answer = selectTools(snapshot, { ...base, limit, unitId: 'u' }, { stale: false, experiment: { status: 'ASSIGNED', arm } });
              expect(answer.experiment?.outcome).toBe('ASSIGNED');
              const [first, ...rest] = answer.candidates;
              expect(describeCandidate(first!)).toBe(describeCandidate(whole[place]!));
              expect(first!.why).toContain(`by score alone: Ranked ${place + 1} with score`);
              const behind = whole.filter((_, index) => index !== place).slice(0, limit - 1);
              expect(rest.map(describeCandidate)).toEqual(behind.map(describeCandidate));
              expect(answer.candidates.map((c) => c.rank)).toEqual(answer.candidates.map((_, index) => index + 1));
              checked++;
            }
          }
        }
      }
    }
    // Arms from first to last place were checked, not a handful.
    expect(checked).toBeGreaterThan(100);
  });
});
