import { readFileSync } from 'node:fs';
import { dashboard } from './dashboard.js';
import { registeredMetrics, withMetricsTable } from './metricsReference.js';
import { rulesTestYaml, rulesYaml } from './rulesFiles.js';

/** Every generated file, by path from the repository root, with the content it must have. */
export async function generatedFiles(): Promise<Map<string, string>> {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  return new Map([
    ['monitoring/rules/tool-catalog.yml', rulesYaml()],
    ['monitoring/rules/tool-catalog.test.yml', rulesTestYaml()],
    ['monitoring/grafana/tool-catalog.json', `${JSON.stringify(dashboard(), null, 2)}\n`],
    ['monitoring/README.md', withMetricsTable(readme, await registeredMetrics())],
  ]);
}
