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
import { BAD_INPUTS } from '../support/bad-input-catalogue.js';

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
  t.deepEqual(created.spec.ports, {
    client: 2181,
    secureClient: 2281,
    loopbackClient: 2182,
    quorum: 2888,
    election: 3888,
    admin: 8080,
    metrics: 7000,
  });
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

test('spec.tls: {} is accepted with the certificate defaults and plaintext traffic, and durations at their bounds pass the CEL rules', async (t) => {
  const namespace = await newNamespace(t);
  const created = await create(namespace, body('tls', { tls: {} }));
  t.deepEqual(created.spec.tls, {
    certificates: { lifetime: '2160h', caLifetime: '43800h' },
    quorum: false,
    client: false,
  });
  const bounds = await create(
    namespace,
    body('tls-bounds', { tls: { certificates: { lifetime: '1h', renewBefore: '59m30s', caLifetime: '3h' } } }),
  );
  t.deepEqual(bounds.spec.tls?.certificates, { lifetime: '1h', renewBefore: '59m30s', caLifetime: '3h' });
});

for (const c of BAD_INPUTS) {
  if (c.stoppedAt !== 'admission') continue;
  test(`rejects ${c.input} with a message that says what to change`, async (t) => {
    const namespace = await newNamespace(t);
    const name = c.name ?? 'bad';
    if (c.update === undefined) {
      const message = await rejection(t, create(namespace, body(name, c.spec)));
      t.true(message.includes(c.message), `the answer says "${c.message}": ${message}`);
      return;
    }
    await create(namespace, body(name, c.spec));
    const message = await rejection(t, mergePatch(namespace, name, { spec: c.update }));
    t.true(message.includes(c.message), `the answer says "${c.message}": ${message}`);
  });
}

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
