import jsep from 'jsep';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportCatalog } from '../src/catalog/exporter.js';
import { importCatalog } from '../src/catalog/importer.js';
import { startTestService, type TestService } from './support/service.js';

/**
 * An independent check of the selection rule as the README states it: a plain reimplementation here,
 * reading the canonical export of the imported legacy corpus (not the service's memory), compared
 * with selectTools for many capabilities, variable sets and modes.
 */

const LEGACY = new URL('../../shared/legacy-catalog/', import.meta.url).pathname;

type Vars = Record<string, number>;
type Weights = { time: number; cost: number; complexity: number; accuracy: number; completeness: number };

// Its own evaluator over jsep's tree (the service's lives in src/catalog/expressions.ts).
const FUNCTIONS: Record<string, (...args: number[]) => number> = {
  ceil: Math.ceil, floor: Math.floor, round: Math.round, min: Math.min, max: Math.max, abs: Math.abs,
  sqrt: Math.sqrt, log: Math.log, log2: Math.log2, log10: Math.log10, pow: Math.pow,
};
function variablesOf(node: any, into = new Set<string>()): Set<string> {
  if (node.type === 'Identifier') into.add(node.name);
  for (const child of [node.left, node.right, node.argument, ...(node.type === 'CallExpression' ? node.arguments : [])]) if (child) variablesOf(child, into);
  return into;
}
function evaluate(node: any, vars: Vars): number {
  switch (node.type) {
    case 'Literal': return node.value;
    case 'Identifier': return vars[node.name]!;
    case 'UnaryExpression': return node.operator === '-' ? -evaluate(node.argument, vars) : evaluate(node.argument, vars);
    case 'CallExpression': return FUNCTIONS[node.callee.name]!(...node.arguments.map((a: any) => evaluate(a, vars)));
    case 'BinaryExpression': {
      const a = evaluate(node.left, vars);
      const b = evaluate(node.right, vars);
      switch (node.operator) {
        case '+': return a + b;
        case '-': return a - b;
        case '*': return a * b;
        case '/': return a / b;
        case '%': return a % b;
        default: return a ** b; // ^ and ** are powers
      }
    }
  }
  throw new Error(`unexpected ${node.type}`);
}

const MODES: Record<string, Weights> = {
  BALANCED: { time: 0.2, cost: 0.2, complexity: 0.2, accuracy: 0.2, completeness: 0.2 },
  FAST: { time: 0.4, cost: 0.15, complexity: 0.15, accuracy: 0.15, completeness: 0.15 },
  ACCURATE: { time: 0.15, cost: 0.15, complexity: 0.15, accuracy: 0.4, completeness: 0.15 },
  THOROUGH: { time: 0.15, cost: 0.15, complexity: 0.15, accuracy: 0.15, completeness: 0.4 },
  CHEAP: { time: 0.15, cost: 0.4, complexity: 0.15, accuracy: 0.15, completeness: 0.15 },
  SIMPLE: { time: 0.15, cost: 0.15, complexity: 0.4, accuracy: 0.15, completeness: 0.15 },
};

interface Request {
  capability: string;
  variables?: Vars;
  preference?: string;
  weights?: Weights;
  platform?: string;
  environment?: string;
  maxTimeMs?: number;
  maxCost?: number;
  allowApproval?: boolean;
  includeDeprecated?: boolean;
  limit: number;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const byCodePoint = (a: string, b: string) => {
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
};

function expected(tools: any[], request: Request) {
  const weights = request.weights ?? MODES[request.preference ?? 'BALANCED']!;
  const ranked: any[] = [];
  const excluded: any[] = [];
  for (const tool of tools) {
    const enabled = tool.enabled !== false;
    const status = String(tool.status ?? 'active').toUpperCase();
    for (const capability of tool.capabilities ?? []) {
      if (capability.name.toLowerCase() !== request.capability.toLowerCase()) continue;
      for (const pattern of capability.patterns ?? []) {
        const id = { tool: tool.name, platform: tool.platform, capability: capability.name, pattern: pattern.name };
        const out = (reason: string, extra: object = {}) => excluded.push({ ...id, reason, ...extra });
        if (request.platform && tool.platform.toLowerCase() !== request.platform.toLowerCase()) { out('WRONG_PLATFORM'); continue; }
        if (!enabled || status === 'DISABLED') { out('DISABLED'); continue; }
        if (status === 'DEPRECATED' && !request.includeDeprecated) { out('DEPRECATED'); continue; }
        const vars: Vars = { N: 100, pages: 1, p95_latency: 1000 };
        for (const input of [...(pattern.required_inputs ?? []), ...(pattern.optional_inputs ?? [])]) {
          if (input && typeof input.name === 'string' && num(input.default) !== undefined) vars[input.name] = input.default;
        }
        Object.assign(vars, request.variables ?? {});
        if (pattern.time_estimate_ms == null || pattern.cost_estimate == null) { out('EXPRESSION_ERROR'); continue; }
        const timeTree = jsep(String(pattern.time_estimate_ms));
        const costTree = jsep(String(pattern.cost_estimate));
        const missing = [...new Set([...variablesOf(timeTree), ...variablesOf(costTree)])].filter((v) => !(v in vars)).sort();
        if (missing.length) { out('MISSING_VARIABLE', { missing }); continue; }
        const t = evaluate(timeTree, vars);
        const c = evaluate(costTree, vars);
        if (!Number.isFinite(t) || !Number.isFinite(c)) { out('EXPRESSION_ERROR'); continue; }
        const policy = pattern.policy ?? {};
        if (num(policy.max_cost) !== undefined && c > policy.max_cost) { out('POLICY_MAX_COST'); continue; }
        if (request.maxCost !== undefined && c > request.maxCost) { out('OVER_COST_LIMIT'); continue; }
        if (request.maxTimeMs !== undefined && t > request.maxTimeMs) { out('OVER_TIME_LIMIT'); continue; }
        if (policy.production_safe === false && (request.environment ?? 'PRODUCTION') === 'PRODUCTION') { out('NOT_PRODUCTION_SAFE'); continue; }
        if (policy.requires_approval === true && request.allowApproval === false) { out('REQUIRES_APPROVAL'); continue; }
        const pm = pattern.preference_match ?? {};
        const features = [
          1 - (Math.log(clamp(t, 50, 60000)) - Math.log(50)) / (Math.log(60000) - Math.log(50)),
          1 - clamp(c, 0, 10) / 10,
          clamp(1 - (num(pattern.complexity_score) ?? 0.5), 0, 1),
          clamp(num(pm.accuracy) ?? 0.5, 0, 1),
          clamp(num(pm.completeness) ?? 0.5, 0, 1),
        ];
        const w = [weights.time, weights.cost, weights.complexity, weights.accuracy, weights.completeness];
        let score = 0;
        for (let i = 0; i < 5; i++) score += w[i]! * features[i]!;
        ranked.push({ ...id, score, timeMs: t, cost: c });
      }
    }
  }
  const order = (a: any, b: any) => byCodePoint(a.tool, b.tool) || byCodePoint(a.platform, b.platform) || byCodePoint(a.capability, b.capability) || byCodePoint(a.pattern, b.pattern);
  ranked.sort((a, b) => Number(b.score.toFixed(12)) - Number(a.score.toFixed(12)) || order(a, b));
  return { ranked, excluded: excluded.sort(order) };
}

const QUERY = `query($r: SelectToolsInput!) { selectTools(request: $r) {
  stale ambiguous
  candidates { rank score capability pattern tool { name platform } estimate { timeMs cost } }
  excluded { capability pattern reason missingVariables tool { name platform } }
} }`;

let service: TestService;
let tools: any[];
beforeAll(async () => {
  service = await startTestService({ seed: false });
  const report = await importCatalog(service.db.prisma, { paths: [LEGACY] }, { actor: 'test', partial: true });
  expect(report.counts.create).toBeGreaterThan(200);
  service.app.clock.advance();
  tools = (await exportCatalog(service.db.prisma)).map((file) => parse(file.content));
}, 120_000);
afterAll(() => service.close());

const LIMITS = [50, 1, 3, 50, 2];

describe('selectTools against an independent implementation of the rule', () => {
  it('gives the same rankings, scores within 1e-9 and every exclusion, over the legacy corpus', async () => {
    const capabilities = [...new Set(tools.flatMap((t) => (t.capabilities ?? []).map((c: any) => c.name as string)))].sort();
    expect(capabilities.length).toBeGreaterThan(60);
    const variableSets: Vars[] = [{}, { N: 1 }, { N: 5000, packet_count: 10, num_files: 3, file_size_kb: 2048, duration_ms: 60000, count: 2, hosts: 10, lines: 1e5 }, { N: 0, pages: 3 }];
    const extras: Array<Partial<Request>> = [
      {},
      { maxCost: 2 },
      { maxTimeMs: 1500 },
      { environment: 'NON_PRODUCTION', allowApproval: false },
      { includeDeprecated: true, platform: 'windows' },
      { weights: { time: 0.1, cost: 0.3, complexity: 0.2, accuracy: 0.25, completeness: 0.15 } },
    ];
    const modes = Object.keys(MODES);
    let compared = 0;
    let exclusions = 0;
    const reasons = new Set<string>();
    for (const [index, capability] of capabilities.entries()) {
      for (let k = 0; k < 6; k++) {
        const extra = extras[(index + k) % extras.length]!;
        const request: Request = {
          capability: k === 1 ? capability.toUpperCase() : capability,
          variables: variableSets[(index * 3 + k) % variableSets.length],
          ...(extra.weights ? {} : { preference: modes[(index + 2 * k) % modes.length] }),
          ...extra,
          // Short lists too: the service keeps only the best `limit`, which must be the rule's first ones.
          limit: LIMITS[(index + k) % LIMITS.length]!,
        };
        const want = expected(tools, request);
        const got = await service.graphql(QUERY, { r: request });
        expect(got.errors, JSON.stringify(request)).toBeUndefined();
        const selection = got.data.selectTools;
        expect(selection.stale).toBe(false);
        const label = JSON.stringify(request);
        expect(selection.candidates.map((c: any) => [c.tool.name, c.tool.platform, c.capability, c.pattern]), label).toEqual(
          want.ranked.slice(0, request.limit).map((r) => [r.tool, r.platform, r.capability, r.pattern]),
        );
        selection.candidates.forEach((c: any, i: number) => {
          expect(Math.abs(c.score - want.ranked[i].score), label).toBeLessThan(1e-9);
          expect(c.estimate, label).toEqual({ timeMs: want.ranked[i].timeMs, cost: want.ranked[i].cost });
        });
        expect(selection.excluded.map((e: any) => [e.tool.name, e.tool.platform, e.capability, e.pattern, e.reason, e.missingVariables]), label).toEqual(
          want.excluded.map((e) => [e.tool, e.platform, e.capability, e.pattern, e.reason, e.missing ?? []]),
        );
        const ambiguous = want.ranked.length > 1 && want.ranked[0].score - want.ranked[1].score <= 0.08 + 1e-12;
        expect(selection.ambiguous, label).toBe(ambiguous);
        compared += selection.candidates.length;
        exclusions += selection.excluded.length;
        for (const e of selection.excluded) reasons.add(e.reason);
      }
    }
    expect(compared).toBeGreaterThan(400);
    expect(exclusions).toBeGreaterThan(100);
    // The corpus and the request mix reach most of the rule's exclusions.
    expect([...reasons].sort()).toEqual(expect.arrayContaining(['MISSING_VARIABLE', 'NOT_PRODUCTION_SAFE', 'OVER_COST_LIMIT', 'OVER_TIME_LIMIT', 'REQUIRES_APPROVAL', 'WRONG_PLATFORM']));
  }, 300_000);
});
