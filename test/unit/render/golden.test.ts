/**
 * Golden files: the complete rendered objects for representative clusters. A change to the
 * rendering shows up as a diff of these files; regenerate with UPDATE_GOLDEN=1 and review it.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { dump } from 'js-yaml';
import type { ZooKeeperCluster } from '../../../src/api/types.js';
import { renderCluster } from '../../../src/render/cluster.js';
import type { OperatorPod } from '../../../src/render/network-policy.js';
import { aCluster } from '../../support/builders.js';

const goldenDir = join(dirname(fileURLToPath(import.meta.url)), 'golden');

const cases: { name: string; cluster: ZooKeeperCluster; bootstrap: boolean; operatorPod?: OperatorPod }[] = [
  { name: 'three-members', cluster: aCluster(), bootstrap: true },
  { name: 'five-members', cluster: aCluster({ replicas: 5 }, { name: 'zk5', namespace: 'prod' }), bootstrap: false },
  { name: 'one-member', cluster: aCluster({ replicas: 1 }, { name: 'solo' }), bootstrap: true },
  {
    name: 'overrides',
    cluster: aCluster(
      {
        image: 'registry.example.com/mirror/zookeeper:3.8.6',
        resources: { limits: { cpu: '2', memory: '4Gi' }, requests: { cpu: '1', memory: '4Gi' } },
        jvm: { extraFlags: ['-XX:+UseG1GC'] },
        storage: { size: '50Gi', storageClassName: 'fast-ssd', reclaimPolicy: 'Delete' },
        config: { tickTime: '3000', maxClientCnxns: '200', 'snapshot.compression.method': 'snappy' },
        pod: {
          labels: { team: 'platform' },
          annotations: { 'prometheus.io/scrape': 'true' },
          nodeSelector: { 'node-role': 'zk' },
          tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'zk', effect: 'NoSchedule' }],
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: 'topology.kubernetes.io/zone',
              whenUnsatisfiable: 'DoNotSchedule',
              labelSelector: { matchLabels: { 'app.kubernetes.io/instance': 'prod' } },
            },
          ],
          priorityClassName: 'critical',
          serviceAccountName: 'zk-prod',
          imagePullSecrets: [{ name: 'mirror-pull' }],
          terminationGracePeriodSeconds: 60,
        },
        clientService: { type: 'LoadBalancer', annotations: { 'lb.example.com/internal': 'true' } },
      },
      { name: 'prod', namespace: 'data' },
    ),
    bootstrap: false,
  },
  {
    name: 'ephemeral',
    cluster: aCluster({ replicas: 3, storage: { ephemeral: true } }, { name: 'dev' }),
    bootstrap: true,
  },
  {
    name: 'custom-ports-and-domain',
    cluster: aCluster(
      {
        ports: { client: 12181, quorum: 12888, election: 13888, admin: 18080, metrics: 17000 },
        clusterDomain: 'corp.internal',
      },
      { name: 'custom', namespace: 'infra' },
    ),
    bootstrap: true,
  },
  {
    name: 'network-policy-peers',
    cluster: aCluster(
      {
        networkPolicy: {
          clients: {
            namespaceSelector: { matchLabels: { 'team.example.com/name': 'payments' } },
            podSelector: { matchExpressions: [{ key: 'zk-client', operator: 'Exists' }] },
          },
          monitoring: {
            namespaceSelector: {
              matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['monitoring'] }],
            },
          },
        },
      },
      { name: 'locked', namespace: 'payments' },
    ),
    bootstrap: false,
    operatorPod: {
      namespace: 'zookeeper-operator',
      labels: { 'app.kubernetes.io/name': 'zookeeper-operator', 'app.kubernetes.io/instance': 'zookeeper-operator' },
    },
  },
];

for (const c of cases) {
  test(`renders the ${c.name} cluster exactly as its golden file`, (t) => {
    const rendered = renderCluster({ cluster: c.cluster, bootstrap: c.bootstrap, operatorPod: c.operatorPod });
    const yaml = dump(rendered, { lineWidth: -1, noRefs: true });
    const file = join(goldenDir, `${c.name}.yaml`);
    if (process.env.UPDATE_GOLDEN === '1') {
      mkdirSync(goldenDir, { recursive: true });
      writeFileSync(file, yaml);
    }
    if (!existsSync(file)) return t.fail(`golden file ${file} is missing; regenerate with UPDATE_GOLDEN=1`);
    t.is(yaml, readFileSync(file, 'utf8'));
  });
}
