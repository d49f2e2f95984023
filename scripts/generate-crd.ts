/**
 * Writes the CRD file from the schema in code (the single source of truth), and the identical
 * copy the Helm chart ships in its crds/ directory (Helm reads only files inside the chart).
 */
import { writeFileSync } from 'node:fs';
import { CRD_FILE, renderCrdYaml } from '../src/api/crd-yaml.js';

const CHART_CRD_FILE = 'helm/zookeeper-operator/crds/zookeeperclusters.yaml';

const crd = renderCrdYaml();
for (const file of [CRD_FILE, CHART_CRD_FILE]) {
  writeFileSync(file, crd);
  console.log(`wrote ${file}`);
}
