import { rulesTestYaml, rulesYaml } from './rulesFiles.js';

/** Every generated file, by path from the repository root, with the content it must have. */
export async function generatedFiles(): Promise<Map<string, string>> {
  return new Map([
    ['monitoring/rules/tool-catalog.yml', rulesYaml()],
    ['monitoring/rules/tool-catalog.test.yml', rulesTestYaml()],
  ]);
}
