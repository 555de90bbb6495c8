import { PothosValidationError } from '@pothos/core';
import { GraphQLError } from 'graphql';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createErrorLogger } from '../src/errorLog.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, lines };
}

describe('error logging', () => {
  it('logs client mistakes at info without a stack, an unreachable database at warn, the rest at error with one stack', () => {
    const { log, lines } = capture();
    const write = createErrorLogger(log);
    write(new PothosValidationError('Argument "first" must be at most 200'));
    write(new GraphQLError('the API key is not valid', { extensions: { code: 'UNAUTHENTICATED' } }));
    write(Object.assign(new Error('Connection terminated unexpectedly')));
    write(new TypeError('cannot read properties of undefined'));
    expect(lines.map((line) => [line.level, line.msg, line.code])).toEqual([
      [30, 'request refused', 'BAD_USER_INPUT'],
      [30, 'request refused', 'UNAUTHENTICATED'],
      [40, 'database unavailable', 'SERVICE_UNAVAILABLE'],
      [50, 'unexpected error', undefined],
    ]);
    expect(JSON.stringify(lines.slice(0, 3))).not.toMatch(/stack/);
    expect(String((lines[3]!.err as { stack: string }).stack)).toMatch(/TypeError/);
  });

  it('logs a repeated error once per interval, then with the count held back', () => {
    const { log, lines } = capture();
    let clock = 0;
    const write = createErrorLogger(log, () => clock);
    for (let i = 0; i < 500; i++) write(new Error('Query read timeout'));
    expect(lines).toHaveLength(1);
    clock = 10_001;
    write(new Error('Query read timeout'));
    expect(lines).toHaveLength(2);
    expect(lines[1]!.repeated).toBe(499);
  });
});
