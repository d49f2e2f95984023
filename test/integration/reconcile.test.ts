/**
 * The reconcile loop against the real control plane (and the process kubelet, which runs the
 * member pods as real ZooKeeper processes), with the operator under the chart's RBAC.
 */
import {
  AppsV1Api,
  CoreV1Api,
  NetworkingV1Api,
  PolicyV1Api,
  type V1NetworkPolicy,
  type V1ObjectMeta,
} from '@kubernetes/client-node';
import test from 'ava';
import { KIND } from '../../src/api/constants.js';
import { canonicalJson } from '../../src/render/canonical-json.js';
import { renderCluster } from '../../src/render/cluster.js';
import { controlPlane, newNamespace } from '../harness/fixture.js';
import { pollUntil } from '../harness/poll.js';
import { createCluster, deleteCluster, patchCluster, readCluster, waitForStatus } from '../support/clusters.js';
import { reconcileCount, reconciledAfter, runOperator, settled } from '../support/operator.js';

async function clients() {
  const kubeConfig = (await controlPlane()).kubeConfig;
  return {
    core: kubeConfig.makeApiClient(CoreV1Api),
    apps: kubeConfig.makeApiClient(AppsV1Api),
    policy: kubeConfig.makeApiClient(PolicyV1Api),
    networking: kubeConfig.makeApiClient(NetworkingV1Api),
  };
}

const notFound = (error: { code?: number }) => {
  if (error.code === 404) return undefined;
  throw error;
};

/** The children of cluster `name`, once all exist. */
async function children(namespace: string, name: string) {
  const { core, apps, policy, networking } = await clients();
  return pollUntil(
    `the children of ${namespace}/${name}`,
    async () => {
      const found = {
        statefulSet: await apps.readNamespacedStatefulSet({ namespace, name }),
        headless: await core.readNamespacedService({ namespace, name: `${name}-headless` }),
        client: await core.readNamespacedService({ namespace, name: `${name}-client` }),
        configMap: await core.readNamespacedConfigMap({ namespace, name: `${name}-config` }),
        pdb: await policy.readNamespacedPodDisruptionBudget({ namespace, name }),
        networkPolicy: await networking.readNamespacedNetworkPolicy({ namespace, name }),
      };
      return found;
    },
    { timeoutMs: 30_000 },
  );
}

test('creating a cluster creates every child, owned by the cluster and labelled, and reports status', async (t) => {
  const namespace = await newNamespace(t);
  await runOperator(t, namespace);
  const cluster = await createCluster(namespace, 'zk', { replicas: 1, storage: { ephemeral: true } });
  const objects = await children(namespace, 'zk');
  for (const [kind, object] of Object.entries(objects)) {
    const metadata = object.metadata as V1ObjectMeta;
    t.deepEqual(
      metadata.ownerReferences?.map((o) => ({ kind: o.kind, name: o.name, uid: o.uid, controller: o.controller })),
      [{ kind: KIND, name: 'zk', uid: cluster.metadata.uid, controller: true }],
      kind,
    );
    t.is(metadata.labels?.['app.kubernetes.io/managed-by'], 'zookeeper-operator', kind);
    t.is(metadata.labels?.['app.kubernetes.io/instance'], 'zk', kind);
  }
  const status = await pollUntil(
    'status with observedGeneration',
    async () => {
      const s = (await readCluster(namespace, 'zk')).status;
      return s?.observedGeneration === cluster.metadata.generation ? s : undefined;
    },
    { timeoutMs: 30_000 },
  );
  t.is(status.selector, 'app.kubernetes.io/instance=zk,app.kubernetes.io/name=zookeeper');
  t.deepEqual(
    status.conditions?.map((c) => c.type),
    ['Available', 'Degraded', 'Progressing'],
  );
});

test('changing the spec changes the StatefulSet', async (t) => {
  const namespace = await newNamespace(t);
  await runOperator(t, namespace);
  await createCluster(namespace, 'zk', { replicas: 1, storage: { ephemeral: true } });
  await children(namespace, 'zk');
  await patchCluster(namespace, 'zk', { spec: { image: 'zookeeper:3.8.6' } });
  const { apps } = await clients();
  const image = await pollUntil(
    'the new image in the StatefulSet',
    async () => {
      const sts = await apps.readNamespacedStatefulSet({ namespace, name: 'zk' });
      const current = sts.spec?.template.spec?.containers[0]?.image;
      return current === 'zookeeper:3.8.6' ? current : undefined;
    },
    { timeoutMs: 10_000 },
  );
  t.is(image, 'zookeeper:3.8.6');
});

/** A third of the resync interval: on a settled cluster, a recreation this soon came from the watch. */
const EVENT_DRIVEN_MS = 10_000;

test('a child deleted by hand is recreated at once, from the watch event', async (t) => {
  const namespace = await newNamespace(t);
  const { operator } = await runOperator(t, namespace);
  await createCluster(namespace, 'zk', { replicas: 1, storage: { ephemeral: true } });
  const before = await children(namespace, 'zk');
  // A cluster still forming is looked at every 2 s anyway; a settled one only every 30 s.
  await settled(namespace, 'zk', operator);
  const { core } = await clients();
  await core.deleteNamespacedService({ namespace, name: 'zk-client' });
  const deletedAt = Date.now();
  const recreated = await pollUntil(
    'the client Service again',
    async () => {
      const svc = await core.readNamespacedService({ namespace, name: 'zk-client' }).catch(notFound);
      return svc !== undefined && svc.metadata?.uid !== before.client.metadata?.uid ? svc : undefined;
    },
    { timeoutMs: EVENT_DRIVEN_MS, intervalMs: 20 },
  );
  const elapsedMs = Date.now() - deletedAt;
  t.log(`recreated after ${elapsedMs} ms`);
  t.truthy(recreated.metadata?.uid);
  // The latency is logged above: a few hundred ms on an idle machine; a 2-core machine busy with
  // other suites' ZooKeeper processes can stretch it.
  t.true(elapsedMs < EVENT_DRIVEN_MS, `recreated after ${elapsedMs} ms`);
});

test('reconciling an unchanged cluster makes no write calls', async (t) => {
  const namespace = await newNamespace(t);
  const { requests, operator } = await runOperator(t, namespace);
  await createCluster(namespace, 'zk', { replicas: 1, storage: { ephemeral: true } });
  await children(namespace, 'zk');
  await settled(namespace, 'zk', operator);
  const reconcilesBefore = await reconcileCount(operator.metrics.render());
  requests.length = 0;
  // A metadata-only change (no new generation) triggers a reconcile that must find nothing to do.
  await patchCluster(namespace, 'zk', { metadata: { annotations: { 'test/touch': String(Date.now()) } } });
  await reconciledAfter(operator, reconcilesBefore, 'the touch');
  t.deepEqual(
    requests.filter((r) => r.method !== 'GET'),
    [],
  );
});

/** The NetworkPolicy's spec as the API spells it (client-node's model calls `from` `_from`). */
async function networkPolicySpec(namespace: string, name: string): Promise<unknown> {
  const { networking } = await clients();
  const policy: V1NetworkPolicy | undefined = await networking
    .readNamespacedNetworkPolicy({ namespace, name })
    .catch(notFound);
  if (policy?.spec === undefined) return undefined;
  const ingress = policy.spec.ingress?.map(({ _from, ...rule }) =>
    _from === undefined ? rule : { ...rule, from: _from },
  );
  return JSON.parse(JSON.stringify({ ...policy.spec, ingress }));
}

test('the API server admits the NetworkPolicy as rendered; it follows spec.networkPolicy and goes when turned off', async (t) => {
  const namespace = await newNamespace(t);
  await runOperator(t, namespace);
  const spec = { replicas: 1, storage: { ephemeral: true } };
  const cluster = await createCluster(namespace, 'zk', spec);
  const rendered = (clients?: object) =>
    renderCluster({ cluster: { ...cluster, spec: { ...spec, networkPolicy: clients ?? {} } }, bootstrap: false })
      .networkPolicy?.spec;
  const policyIs = (what: string, expected: unknown) =>
    pollUntil(
      what,
      async () => {
        const live = await networkPolicySpec(namespace, 'zk');
        if (canonicalJson(live) !== canonicalJson(expected)) throw new Error(`live: ${canonicalJson(live)}`);
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
  t.true(await policyIs('the rendered NetworkPolicy', rendered()));

  const clients = { clients: { namespaceSelector: { matchLabels: { team: 'payments' } } } };
  await patchCluster(namespace, 'zk', { spec: { networkPolicy: clients } });
  t.true(await policyIs('clients only from team payments', rendered(clients)));
  // Back to any source: the client rule loses its `from`, which admits every source.
  await patchCluster(namespace, 'zk', { spec: { networkPolicy: { clients: null } } });
  t.true(await policyIs('clients from anywhere again', rendered()));

  await patchCluster(namespace, 'zk', { spec: { networkPolicy: { enabled: false } } });
  t.true(await policyIs('no NetworkPolicy', undefined));
});

test('a super-user Secret planted before the cluster is never used: a condition and a Warning say so until it is deleted', async (t) => {
  const namespace = await newNamespace(t);
  const { core, apps } = await clients();
  await core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: 'zk-super-user' }, stringData: { password: 'planted', digest: 'super:planted' } },
  });
  await runOperator(t, namespace);
  const cluster = await createCluster(namespace, 'zk', { replicas: 1, storage: { ephemeral: true } });
  const status = await waitForStatus(
    namespace,
    'zk',
    'Degraded with SuperUserSecretNotOwned',
    (s) => s.conditions?.some((c) => c.type === 'Degraded' && c.reason === 'SuperUserSecretNotOwned') ?? false,
    30_000,
  );
  t.regex(
    status.conditions?.find((c) => c.type === 'Degraded')?.message ?? '',
    /^Secret .*\/zk-super-user already exists and it has no owner reference to this cluster .* Delete it/,
  );
  const events = await core.listNamespacedEvent({ namespace, fieldSelector: 'reason=SuperUserSecretNotOwned' });
  t.is(events.items[0]?.type, 'Warning');
  t.is(events.items[0]?.involvedObject.uid, cluster.metadata.uid);
  t.is(await apps.readNamespacedStatefulSet({ namespace, name: 'zk' }).catch(notFound), undefined, 'no member pods');

  await core.deleteNamespacedSecret({ namespace, name: 'zk-super-user' });
  const own = await pollUntil(
    'the operator’s own Secret',
    async () => {
      const secret = await core.readNamespacedSecret({ namespace, name: 'zk-super-user' }).catch(notFound);
      return secret?.metadata?.ownerReferences?.some((o) => o.uid === cluster.metadata.uid) ? secret : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
  t.not(Buffer.from(own.data?.password ?? '', 'base64').toString(), 'planted');
  t.truthy((await children(namespace, 'zk')).statefulSet.metadata?.uid);
});

test('deleting the cluster lets the garbage collector remove its children', async (t) => {
  const namespace = await newNamespace(t);
  await runOperator(t, namespace);
  await createCluster(namespace, 'zk', { replicas: 1, storage: { ephemeral: true } });
  await children(namespace, 'zk');
  const { core, apps } = await clients();
  await deleteCluster(namespace, 'zk');
  const gone = await pollUntil(
    'the children to be garbage-collected',
    async () => {
      const sts = await apps.readNamespacedStatefulSet({ namespace, name: 'zk' }).catch(notFound);
      const cm = await core.readNamespacedConfigMap({ namespace, name: 'zk-config' }).catch(notFound);
      const svc = await core.readNamespacedService({ namespace, name: 'zk-client' }).catch(notFound);
      return sts === undefined && cm === undefined && svc === undefined ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  t.true(gone, 'StatefulSet, ConfigMap and Services are gone');
});
