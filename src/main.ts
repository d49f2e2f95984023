#!/usr/bin/env node
/**
 * Entry point. Until the reconcile loop is wired in, the operator runs in preview mode: it
 * reads every ZooKeeperCluster in the current kube context and prints what it would apply,
 * changing nothing. Flags: --help, --version, --namespace NAME.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, PLURAL } from './api/constants.js';
import type { ZooKeeperCluster } from './api/types.js';
import { reviewSpec } from './api/validation.js';
import { renderCluster } from './render/cluster.js';

const USAGE = `Usage: zookeeper-operator [--namespace NAME] [--help] [--version]

Runs ZooKeeper ensembles declared as ZooKeeperCluster resources.
Preview mode: lists the clusters in the current kube context and prints the objects it would
apply for each; it changes nothing yet.

  --namespace NAME   only this namespace (default: all namespaces)
  --help             show this text
  --version          print the operator version
`;

function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

async function preview(namespace: string | undefined): Promise<void> {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  const list = (
    namespace === undefined
      ? await api.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: PLURAL })
      : await api.listNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural: PLURAL })
  ) as { items: ZooKeeperCluster[] };
  console.log(
    `zookeeper-operator ${packageVersion()} (preview: nothing is changed) against ${kubeConfig.getCurrentCluster()?.server}`,
  );
  if (list.items.length === 0) console.log('no ZooKeeperCluster found');
  for (const cluster of list.items) {
    const key = `${cluster.metadata.namespace}/${cluster.metadata.name}`;
    const review = reviewSpec(cluster.spec);
    for (const problem of review.errors) console.log(`${key}: invalid (${problem.reason}): ${problem.message}`);
    for (const problem of review.warnings) console.log(`${key}: warning (${problem.reason}): ${problem.message}`);
    if (review.errors.length > 0) continue;
    const desired = renderCluster({ cluster, bootstrap: cluster.status?.configVersion === undefined });
    const { revision, ...objects } = desired;
    console.log(`${key}: would apply (pod revision ${revision}):`);
    for (const object of Object.values(objects)) console.log(`  ${object.kind} ${object.metadata?.name}`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { help: { type: 'boolean' }, version: { type: 'boolean' }, namespace: { type: 'string' } },
  });
  if (values.help) return void process.stdout.write(USAGE);
  if (values.version) return void console.log(packageVersion());
  await preview(values.namespace);
}

main().catch((error: unknown) => {
  console.error(`zookeeper-operator: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
