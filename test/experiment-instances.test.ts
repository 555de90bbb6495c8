import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { askInstance, startTwoInstances, type TwoInstances } from './support/instances.js';

// Two instances on one PostgreSQL database: experiments started or stopped on one are what the
// other's in-memory experiments (assignment, selection) use, as soon as the change notification arrives.
const serverUrl = process.env.DATABASE_URL;

describe.skipIf(!serverUrl)('experiments across instances', () => {
  let instances: TwoInstances | undefined;
  let appA: App;
  let appB: App;
  let editor: Record<string, string>;

  beforeAll(async () => {
    instances = await startTwoInstances(serverUrl!, { editorKeyName: 'instances-editor' });
    ({ appA, appB, editor } = instances);
  });
  afterAll(async () => {
    await instances?.stop();
  });

  const ask = askInstance;
  const ASSIGNMENT = '{ assignment(experimentKey: "find-vs-grep", unitId: "job-1") { active arm { key } } }';

  /** Asks B until `accept` holds, for at most 5 s. */
  const onB = async (accept: (answer: any) => boolean) => {
    const started = performance.now();
    let answer: any;
    while (performance.now() - started < 5_000) {
      answer = (await ask(appB, ASSIGNMENT)).data.assignment;
      if (accept(answer)) return answer;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return answer;
  };

  it('B sees an experiment created, started and stopped on A', async () => {
    expect((await ask(appB, ASSIGNMENT)).data.assignment).toBeNull();
    await ask(appB, ASSIGNMENT);
    const created = await ask(appA, `mutation { createExperiment(input: { key: "find-vs-grep", capability: "text_search", metric: SUCCESS_RATE,
      arms: [{ key: "grep", tool: { name: "grep", platform: "linux" }, weight: 0.5 }, { key: "grep-again", tool: { name: "grep", platform: "linux" }, weight: 0.5 }] }) { __typename } }`, editor);
    expect(created.data.createExperiment.__typename).toBe('Experiment');
    expect(await onB((a) => a !== null)).toMatchObject({ active: false });
    await ask(appA, 'mutation { startExperiment(key: "find-vs-grep") { __typename } }', editor);
    expect(await onB((a) => a?.active)).toMatchObject({ active: true });
    await ask(appA, 'mutation { stopExperiment(key: "find-vs-grep") { __typename } }', editor);
    expect(await onB((a) => a && !a.active)).toMatchObject({ active: false });
  });
});
