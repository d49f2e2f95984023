/** Writes the CRD file from the schema in code (the single source of truth). */
import { writeFileSync } from 'node:fs';
import { CRD_FILE, renderCrdYaml } from '../src/api/crd-yaml.js';

writeFileSync(CRD_FILE, renderCrdYaml());
console.log(`wrote ${CRD_FILE}`);
