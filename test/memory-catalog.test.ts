import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityKey } from '../src/memoryCatalog/snapshot.js';
import { startTestService, type TestService } from './support/service.js';

const ADMIN = 'memory-catalog-admin-key-0123';
const auth = { authorization: `Bearer ${ADMIN}` };

let service: TestService;
beforeAll(async () => {
  service = await startTestService({ adminApiKey: ADMIN });
});
afterAll(() => service.close());

async function revisionOf(name: string, platform: string): Promise<number> {
  const result = await service.graphql(`{ tool(name: "${name}", platform: "${platform}") { revision } }`);
  return result.data.tool.revision;
}

describe('the in-memory catalog', () => {
  it('applies a change as a new immutable revision that shares every unchanged tool with the previous one', async () => {
    const before = (await service.app.memory.read()).snapshot;
    const grepBefore = before.byIdentity.get(identityKey('grep', 'linux'))!;
    const psBefore = before.byIdentity.get(identityKey('ps', 'linux'))!;
    const changed = await service.graphql(
      `mutation { updateTool(name: "grep", platform: "linux", revision: ${await revisionOf('grep', 'linux')}, changes: { description: "changed in memory too" }) { __typename } }`,
      undefined,
      auth,
    );
    expect(changed.data.updateTool.__typename).toBe('Tool');
    const after = (await service.app.memory.read()).snapshot;
    expect(after).not.toBe(before);
    expect(after.revision).toBeGreaterThan(before.revision);
    expect(after.byIdentity.get(identityKey('grep', 'linux'))!.row.description).toBe('changed in memory too');
    // Structural sharing: what did not change is the very same object.
    expect(after.byIdentity.get(identityKey('ps', 'linux'))).toBe(psBefore);
    // The reader that held the previous revision still sees it, whole and unchangeable.
    expect(before.byIdentity.get(identityKey('grep', 'linux'))).toBe(grepBefore);
    expect(grepBefore.row.description).not.toBe('changed in memory too');
    expect(Object.isFrozen(grepBefore.row)).toBe(true);
    expect(Object.isFrozen(grepBefore.row.capabilities[0]!.patterns[0])).toBe(true);
    expect(() => {
      (grepBefore.row as { description: string }).description = 'mutated';
    }).toThrow(TypeError);

    const metrics = await (await service.app.yoga.fetch('http://catalog.test/metrics')).text();
    expect(metrics).toMatch(new RegExp(`^tool_catalog_memory_catalog_revision\\{[^}]*\\} ${after.revision}$`, 'm'));
    expect(metrics).toMatch(/^tool_catalog_memory_catalog_build_seconds_count\{[^}]*kind="incremental"[^}]*\} [1-9]/m);
    expect(metrics).toMatch(/^tool_catalog_memory_catalog_build_seconds_count\{[^}]*kind="full"[^}]*\} [1-9]/m);
  });

  it('drops a deleted tool and brings it back on restore', async () => {
    const request = `{ selectTools(request: { capability: "process_listing", limit: 50 }) { revision candidates { tool { name } } excluded { tool { name } } } }`;
    const names = (result: any) => [...result.data.selectTools.candidates, ...result.data.selectTools.excluded].map((c: any) => c.tool.name);
    expect(names(await service.graphql(request))).toContain('psql');
    const deleted = await service.graphql(`mutation { deleteTool(name: "psql", platform: "database", revision: ${await revisionOf('psql', 'database')}) { __typename } }`, undefined, auth);
    expect(deleted.data.deleteTool.__typename).toBe('Tool');
    expect(names(await service.graphql(request))).not.toContain('psql');
    expect(service.app.memory.snapshot!.byName.get('psql')).toBeUndefined();
    const latest = await service.db.prisma.tool.findFirstOrThrow({ where: { name: 'psql', platform: 'database', isLatest: true } });
    const restored = await service.graphql(`mutation { restoreTool(name: "psql", platform: "database", revision: ${latest.revision}) { __typename } }`, undefined, auth);
    expect(restored.data.restoreTool.__typename).toBe('Tool');
    expect(names(await service.graphql(request))).toContain('psql');
  });

  it('exposes the selection metrics under their agreed names', async () => {
    await service.graphql(`{ selectTools(request: { capability: "connectivity_check" }) { revision } }`);
    const metrics = await (await service.app.yoga.fetch('http://catalog.test/metrics')).text();
    expect(metrics).toMatch(/^tool_catalog_selections_total\{[^}]*outcome="selected"[^}]*\} [1-9]/m);
    expect(metrics).toMatch(/^tool_catalog_selections_total\{[^}]*outcome="empty"[^}]*\} 0/m);
    expect(metrics).toMatch(/^tool_catalog_selection_duration_seconds_count\{[^}]*\} [1-9]/m);
    expect(metrics).toMatch(/^tool_catalog_selection_exclusions_total\{[^}]*reason="MISSING_VARIABLE"[^}]*\} [1-9]/m);
    expect(metrics).toMatch(/^tool_catalog_selection_stale_total\{[^}]*\} 0$/m);
  });
});
