/**
 * The CRD against the real kube-apiserver: valid clusters are accepted with the schema's
 * defaults, invalid ones are rejected with the CEL message a person can act on, transition
 * rules guard storage, and the scale and status subresources work.
 */
import { readFileSync } from 'node:fs';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import test, { type ExecutionContext } from 'ava';
import { load } from 'js-yaml';
import { API_GROUP, API_VERSION, PLURAL } from '../../src/api/constants.js';
import type { ZooKeeperCluster, ZooKeeperClusterSpec } from '../../src/api/types.js';
import { controlPlane, newNamespace } from '../harness/fixture.js';
import { repoPath } from '../harness/repo.js';

async function api() {
  return (await controlPlane()).kubeConfig.makeApiClient(CustomObjectsApi);
}

const body = (name: string, spec: ZooKeeperClusterSpec) => ({
  apiVersion: `${API_GROUP}/${API_VERSION}`,
  kind: 'ZooKeeperCluster',
  metadata: { name },
  spec,
});

async function create(namespace: string, object: object): Promise<ZooKeeperCluster> {
  return (await (
    await api()
  ).createNamespacedCustomObject({
    group: API_GROUP,
    version: API_VERSION,
    namespace,
    plural: PLURAL,
    body: object,
  })) as ZooKeeperCluster;
}

async function mergePatch(namespace: string, name: string, patch: object, subresource?: 'status') {
  const client = await api();
  const request = { group: API_GROUP, version: API_VERSION, namespace, plural: PLURAL, name, body: patch };
  const options = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  return (await (subresource === 'status'
    ? client.patchNamespacedCustomObjectStatus(request, options)
    : client.patchNamespacedCustomObject(request, options))) as ZooKeeperCluster;
}

/** The API server's rejection message, or a failure when it accepted the request. */
async function rejection(t: ExecutionContext, request: Promise<unknown>): Promise<string> {
  try {
    await request;
  } catch (error) {
    const { code, body: raw } = error as { code?: number; body?: string };
    t.is(code, 422, `expected 422 Invalid, got ${code}: ${raw}`);
    return (JSON.parse(raw ?? '{}') as { message?: string }).message ?? '';
  }
  t.fail('the API server accepted an invalid ZooKeeperCluster');
  return '';
}

test('the example cluster is accepted and the schema fills in the defaults', async (t) => {
  const namespace = await newNamespace(t);
  const example = load(readFileSync(repoPath('examples/zookeepercluster.yaml'), 'utf8')) as object;
  const created = await create(namespace, example);
  t.is(created.spec.replicas, 3);
  t.deepEqual(created.spec.ports, { client: 2181, quorum: 2888, election: 3888, admin: 8080, metrics: 7000 });
  t.is(created.spec.clusterDomain, 'cluster.local');
  t.is(created.spec.storage?.reclaimPolicy, 'Delete');
  t.is(created.spec.storage?.ephemeral, false);
  t.is(created.spec.paused, false);
  t.deepEqual(created.spec.networkPolicy, { enabled: true });
});

test('a NetworkPolicy spec with namespace and pod selectors for clients and monitoring is accepted as given', async (t) => {
  const namespace = await newNamespace(t);
  const networkPolicy = {
    enabled: true,
    clients: {
      namespaceSelector: { matchLabels: { 'team.example.com/name': 'payments', tier: '' } },
      podSelector: {
        matchExpressions: [
          { key: 'zk-client', operator: 'In' as const, values: ['true', 'yes'] },
          { key: 'example.com/legacy', operator: 'DoesNotExist' as const },
        ],
      },
    },
    monitoring: { namespaceSelector: {} },
  };
  const created = await create(namespace, body('peers', { networkPolicy }));
  t.deepEqual(created.spec.networkPolicy, networkPolicy);
});

const invalidSpecs: { name: string; spec: ZooKeeperClusterSpec; message: RegExp }[] = [
  { name: 'no members', spec: { replicas: 0 }, message: /spec\.replicas.*greater than or equal to 1/ },
  { name: 'too many members', spec: { replicas: 16 }, message: /spec\.replicas.*less than or equal to 15/ },
  {
    name: 'an operator-managed zoo.cfg key',
    spec: { config: { dataDir: '/elsewhere' } },
    message: /zoo\.cfg key "dataDir" is managed by the operator and cannot be set in spec\.config; remove it/,
  },
  {
    name: 'a server.N line in spec.config',
    spec: { config: { 'server.4': 'zk-3:2888:3888' } },
    message: /zoo\.cfg key "server\.4" is managed by the operator/,
  },
  {
    name: 'skipACL in spec.config',
    spec: { config: { skipACL: 'yes' } },
    message: /zoo\.cfg key "skipACL" is managed by the operator/,
  },
  {
    name: 'a zoo.cfg value with a line break',
    spec: { config: { tickTime: '2000\nskipACL=yes' } },
    message: /the value of zoo\.cfg key "tickTime" contains a line break/,
  },
  {
    name: 'a non-numeric tickTime',
    spec: { config: { tickTime: 'fast' } },
    message: /zoo\.cfg key "tickTime" must be a whole number/,
  },
  {
    name: 'a malformed zoo.cfg key',
    spec: { config: { 'bad key': 'x' } },
    message: /zoo\.cfg key "bad key" is not a valid key/,
  },
  {
    name: 'ZooKeeper 3.7',
    spec: { image: 'zookeeper:3.7.2' },
    message: /unsupported ZooKeeper version; supported are 3\.8 and 3\.9/,
  },
  { name: 'two ports alike', spec: { ports: { admin: 2181 } }, message: /ports must all be different/ },
  {
    name: 'a selector label on the pods',
    spec: { pod: { labels: { 'app.kubernetes.io/instance': 'other' } } },
    message: /pod labels may not use the app\.kubernetes\.io\/ prefix/,
  },
  {
    name: 'a JVM flag with spaces',
    spec: { jvm: { extraFlags: ['-Xss1m -Xmx1g'] } },
    message: /give each flag its own entry/,
  },
  { name: 'a tiny heap', spec: { jvm: { heapMiB: 8 } }, message: /spec\.jvm\.heapMiB.*greater than or equal to 64/ },
  {
    name: 'an unknown reclaim policy',
    spec: { storage: { reclaimPolicy: 'Keep' as 'Retain' } },
    message: /Unsupported value: "Keep"/,
  },
  {
    name: 'a storage class with ephemeral storage',
    spec: { storage: { ephemeral: true, storageClassName: 'ssd' } },
    message: /storageClassName has no effect with storage\.ephemeral/,
  },
  { name: 'a malformed storage size', spec: { storage: { size: 'ten gigs' } }, message: /spec\.storage\.size/ },
  {
    name: 'a client peer without a selector',
    spec: { networkPolicy: { clients: {} } },
    message: /give a namespaceSelector, a podSelector or both; to admit any source, leave this field out/,
  },
  {
    name: 'a label key that is no label key',
    spec: { networkPolicy: { clients: { namespaceSelector: { matchLabels: { 'team name': 'a' } } } } },
    message: /label key "team name" is not valid/,
  },
  {
    name: 'a label key with a prefix over 253 characters',
    spec: { networkPolicy: { monitoring: { podSelector: { matchLabels: { [`${'a'.repeat(254)}/x`]: 'y' } } } } },
    message: /label key "a{254}\/x" is not valid/,
  },
  {
    name: 'a label value that is no label value',
    spec: { networkPolicy: { clients: { podSelector: { matchLabels: { app: 'not ok' } } } } },
    message: /spec\.networkPolicy\.clients\.podSelector\.matchLabels\.app.*should match/,
  },
  {
    name: 'In without values',
    spec: { networkPolicy: { clients: { podSelector: { matchExpressions: [{ key: 'app', operator: 'In' }] } } } },
    message: /operator In needs at least one value/,
  },
  {
    name: 'Exists with values',
    spec: {
      networkPolicy: {
        clients: { podSelector: { matchExpressions: [{ key: 'app', operator: 'Exists', values: ['zk'] }] } },
      },
    },
    message: /operator Exists takes no values/,
  },
  {
    name: 'an unknown selector operator',
    spec: {
      networkPolicy: {
        clients: { podSelector: { matchExpressions: [{ key: 'app', operator: 'Matches' as 'In', values: ['zk'] }] } },
      },
    },
    message: /Unsupported value: "Matches"/,
  },
  {
    name: 'a matchExpressions key that is no label key',
    spec: {
      networkPolicy: { clients: { podSelector: { matchExpressions: [{ key: '-app', operator: 'Exists' }] } } },
    },
    message: /spec\.networkPolicy\.clients\.podSelector\.matchExpressions\[0\]\.key.*should match/,
  },
];

for (const c of invalidSpecs) {
  test(`rejects ${c.name} with a message that says what to change`, async (t) => {
    const namespace = await newNamespace(t);
    t.regex(await rejection(t, create(namespace, body('bad', c.spec))), c.message);
  });
}

test('rejects a name too long to prefix its pods and Services', async (t) => {
  const namespace = await newNamespace(t);
  t.regex(
    await rejection(t, create(namespace, body('z'.repeat(53), {}))),
    /metadata\.name must be at most 52 characters/,
  );
});

test('storage may grow but never shrink, and its class and kind are fixed at creation', async (t) => {
  const namespace = await newNamespace(t);
  await create(namespace, body('grow', { storage: { size: '10Gi', storageClassName: 'standard' } }));
  const grown = await mergePatch(namespace, 'grow', { spec: { storage: { size: '20Gi' } } });
  t.is(grown.spec.storage?.size, '20Gi');
  t.regex(
    await rejection(t, mergePatch(namespace, 'grow', { spec: { storage: { size: '5Gi' } } })),
    /storage\.size may not shrink \(from 20Gi to 5Gi\)/,
  );
  t.regex(
    await rejection(t, mergePatch(namespace, 'grow', { spec: { storage: { storageClassName: 'fast' } } })),
    /storageClassName cannot be changed after creation/,
  );
  t.regex(
    await rejection(
      t,
      mergePatch(namespace, 'grow', { spec: { storage: { ephemeral: true, storageClassName: null } } }),
    ),
    /storage\.ephemeral cannot be changed after creation/,
  );
});

test('the scale subresource reads and writes spec.replicas with the selector from status', async (t) => {
  const namespace = await newNamespace(t);
  await create(namespace, body('scaled', { replicas: 3 }));
  await mergePatch(
    namespace,
    'scaled',
    { status: { replicas: 3, selector: 'app.kubernetes.io/instance=scaled' } },
    'status',
  );
  const client = await api();
  const request = { group: API_GROUP, version: API_VERSION, namespace, plural: PLURAL, name: 'scaled' };
  const scale = (await client.getNamespacedCustomObjectScale(request)) as {
    spec: { replicas: number };
    status: { replicas: number; selector: string };
  };
  t.deepEqual(scale.status, { replicas: 3, selector: 'app.kubernetes.io/instance=scaled' });
  await client.patchNamespacedCustomObjectScale(
    { ...request, body: { spec: { replicas: 5 } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  const after = (await client.getNamespacedCustomObject(request)) as ZooKeeperCluster;
  t.is(after.spec.replicas, 5);
  t.regex(
    await rejection(
      t,
      client.patchNamespacedCustomObjectScale(
        { ...request, body: { spec: { replicas: 20 } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    ),
    /replicas/,
  );
});

test('status is written only through the status subresource and does not bump the generation', async (t) => {
  const namespace = await newNamespace(t);
  const created = await create(namespace, body('status', {}));
  const updated = await mergePatch(namespace, 'status', { status: { phase: 'Running', ready: '3/3' } }, 'status');
  t.is(updated.status?.phase, 'Running');
  t.is(updated.metadata.generation, created.metadata.generation);
  const viaMain = await mergePatch(namespace, 'status', { status: { phase: 'Hacked' } });
  t.is(viaMain.status?.phase, 'Running', 'a status change through the main resource is ignored');
});
