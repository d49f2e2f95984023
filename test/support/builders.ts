/** Fixture builders: a valid cluster with overrides, rather than copied literals. */
import { API_GROUP_VERSION, KIND } from '../../src/api/constants.js';
import type { ZooKeeperCluster, ZooKeeperClusterSpec } from '../../src/api/types.js';

export function aCluster(
  spec: ZooKeeperClusterSpec = {},
  meta: { name?: string; namespace?: string; uid?: string } = {},
): ZooKeeperCluster {
  return {
    apiVersion: API_GROUP_VERSION,
    kind: KIND,
    metadata: {
      name: meta.name ?? 'example',
      namespace: meta.namespace ?? 'default',
      uid: meta.uid ?? '00000000-0000-4000-8000-000000000001',
      generation: 1,
    },
    spec,
  };
}
