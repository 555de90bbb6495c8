import { describe, expect, it } from 'vitest';
import { compileEstimate, evaluateEstimate, estimateVariables, parseEstimate } from '../src/catalog/expressions.js';

function value(source: string, variables: Record<string, number> = {}) {
  const compiled = compileEstimate(source);
  if (!compiled.ok) throw new Error(compiled.error);
  return evaluateEstimate(compiled, variables);
}

describe('estimate expressions', () => {
  it('evaluates arithmetic and the allowed functions', () => {
    expect(value('2000 + 0.5 * N', { N: 1000 })).toEqual({ ok: true, value: 2500 });
    expect(value('ceil(N / 100)', { N: 250 })).toEqual({ ok: true, value: 3 });
    expect(value('3000 + 400 * log(max(N, 1)) + p95_latency * 1.2', { N: 1, p95_latency: 1000 })).toEqual({ ok: true, value: 4200 });
    expect(value('pow(2, 10) - 2 ** 3 - 2 ^ 2 * 3 + 7 % 4')).toEqual({ ok: true, value: 1024 - 8 - 12 + 3 });
    expect(value('-N + +3', { N: 1 })).toEqual({ ok: true, value: 2 });
    expect(value('min(3, 1, 2) + floor(2.7) + round(2.5) + abs(-1) + sqrt(9) + log2(8) + log10(100)')).toEqual({ ok: true, value: 1 + 2 + 3 + 1 + 3 + 3 + 2 });
  });

  it('treats ^ as a right-associative power, not XOR', () => {
    expect(value('2 ^ 3 ^ 2')).toEqual({ ok: true, value: 512 });
  });

  it('names every missing variable and refuses non-finite results', () => {
    expect(value('packet_count / 1000 + N + files')).toEqual({ ok: false, reason: 'MISSING_VARIABLE', missing: ['N', 'files', 'packet_count'] });
    const divided = value('1 / N', { N: 0 });
    expect(divided.ok).toBe(false);
    expect(divided).toMatchObject({ reason: 'EXPRESSION_ERROR' });
  });

  it('refuses anything but arithmetic', () => {
    for (const source of ['process.exit(1)', '"a" + 1', 'N ? 1 : 2', 'eval(1)', 'N == 1', 'a[0]', 'pow(1)', 'ceil(1, 2)', '(']) {
      expect(compileEstimate(source).ok, source).toBe(false);
      expect(parseEstimate(source).ok, source).toBe(false);
    }
    expect(parseEstimate('ceil(N / per_page)')).toEqual({ ok: true, variables: ['N', 'per_page'] });
  });

  it('takes defaults from globals, then declared inputs, then the caller', () => {
    const inputs = { requiredInputs: [{ name: 'N', default: 10 }, { name: 'host' }], optionalInputs: [{ name: 'count', default: 4 }, { name: 'flag', default: 'true' }] };
    expect(estimateVariables(inputs, undefined)).toEqual({ N: 10, pages: 1, p95_latency: 1000, count: 4 });
    expect(estimateVariables(inputs, { count: 9, pages: 3, junk: 'x', inf: Infinity })).toEqual({ N: 10, pages: 3, p95_latency: 1000, count: 9 });
  });
});
