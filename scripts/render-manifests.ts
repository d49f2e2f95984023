/** Regenerates deploy/zookeeper-operator.yaml from the chart (see deploy-manifests.ts). */
import { writeFileSync } from 'node:fs';
import { DEPLOY_FILE, renderDeployManifests } from './deploy-manifests.js';

writeFileSync(DEPLOY_FILE, await renderDeployManifests());
console.log(`wrote ${DEPLOY_FILE}`);
