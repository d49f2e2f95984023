/** The CRD as the YAML file shipped in `crds/` (and in the Helm chart). */
import { dump } from 'js-yaml';
import { buildCrd } from './schema.js';

export const CRD_FILE = 'crds/zookeeperclusters.yaml';

export function renderCrdYaml(): string {
  return `# Generated from src/api/schema.ts by \`npm run crd\`; do not edit by hand.\n${dump(buildCrd(), {
    lineWidth: -1,
    noRefs: true,
  })}`;
}
