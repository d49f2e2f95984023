/**
 * Smoke tests of the local test control plane itself: the apiserver is the pinned release,
 * kube-controller-manager's controllers run (namespace, deployment/replicaset, garbage
 * collector), and minted kubeconfigs are subject to RBAC. If the control plane cannot start,
 * every test here fails with the reason.
 */
import { AppsV1Api, CoreV1Api, type KubeConfig, RbacAuthorizationV1Api, VersionApi } from '@kubernetes/client-node';
import test from 'ava';
import { controlPlane, newNamespace } from '../harness/fixture.js';
import { loadKubeConfig } from '../harness/kubeconfig.js';
import { pollUntil } from '../harness/poll.js';

const CONTROLLER_TIMEOUT_MS = 60_000;
/** kube-scheduler serves only `default-scheduler`, so pods naming this scheduler stay unbound and never run. */
const UNSERVED_SCHEDULER = 'zkop-test-unscheduled';

function statusCode(error: unknown): number | undefined {
  return (error as { code?: number }).code;
}

/** Resolves once `read` fails with 404, i.e. the object is gone. */
async function untilNotFound(description: string, read: () => Promise<unknown>): Promise<void> {
  await pollUntil(
    description,
    async () => {
      try {
        await read();
        return undefined;
      } catch (error) {
        if (statusCode(error) === 404) return true;
        throw error;
      }
    },
    { timeoutMs: CONTROLLER_TIMEOUT_MS, intervalMs: 250 },
  );
}

test('the apiserver reports the pinned Kubernetes release on /version', async (t) => {
  const plane = await controlPlane();
  const version = await plane.kubeConfig.makeApiClient(VersionApi).getCode();
  t.regex(version.gitVersion, /^v1\.36\./);
  t.is(version.gitVersion, plane.binaries.versions.kubernetes);
});

test('a deleted namespace and its contents are removed by the namespace controller', async (t) => {
  const plane = await controlPlane();
  const core = plane.kubeConfig.makeApiClient(CoreV1Api);
  const name = `t-namespace-lifecycle-${Date.now().toString(36)}`;
  await core.createNamespace({ body: { metadata: { name } } });
  await core.createNamespacedConfigMap({ namespace: name, body: { metadata: { name: 'content' }, data: { a: 'b' } } });

  await core.deleteNamespace({ name });

  await untilNotFound(`namespace ${name} to be removed`, () => core.readNamespace({ name }));
  t.pass();
});

test('a Deployment gets pods from the controller manager (Pending: nothing schedules them)', async (t) => {
  const plane = await controlPlane();
  const namespace = await newNamespace(t);
  const labels = { app: 'smoke' };
  await plane.kubeConfig.makeApiClient(AppsV1Api).createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: 'smoke' },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { schedulerName: UNSERVED_SCHEDULER, containers: [{ name: 'main', image: 'zookeeper:3.9.4' }] },
        },
      },
    },
  });

  const core = plane.kubeConfig.makeApiClient(CoreV1Api);
  const pods = await pollUntil(
    `2 pods of Deployment ${namespace}/smoke`,
    async () => {
      const list = await core.listNamespacedPod({ namespace, labelSelector: 'app=smoke' });
      return list.items.length === 2 ? list.items : undefined;
    },
    { timeoutMs: CONTROLLER_TIMEOUT_MS },
  );
  for (const pod of pods) {
    t.is(pod.metadata?.ownerReferences?.[0]?.kind, 'ReplicaSet');
    t.is(pod.status?.phase, 'Pending');
  }
});

test('the garbage collector deletes a ConfigMap whose owner was deleted', async (t) => {
  const plane = await controlPlane();
  const namespace = await newNamespace(t);
  const core = plane.kubeConfig.makeApiClient(CoreV1Api);
  const owner = await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'owner' } } });
  await core.createNamespacedConfigMap({
    namespace,
    body: {
      metadata: {
        name: 'dependent',
        ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata?.uid as string }],
      },
    },
  });

  await core.deleteNamespacedConfigMap({ namespace, name: 'owner' });

  await untilNotFound(`ConfigMap ${namespace}/dependent to be garbage-collected`, () =>
    core.readNamespacedConfigMap({ namespace, name: 'dependent' }),
  );
  t.pass();
});

test('a minted kubeconfig is forbidden until a RoleBinding grants it access', async (t) => {
  const plane = await controlPlane();
  const namespace = await newNamespace(t);
  const user = `system:serviceaccount:${namespace}:zookeeper-operator`;
  const minted: KubeConfig = loadKubeConfig(
    await plane.mintKubeconfig(user, ['system:serviceaccounts', `system:serviceaccounts:${namespace}`]),
  );
  const asOperator = minted.makeApiClient(CoreV1Api);

  const denied = await t.throwsAsync(asOperator.listNamespacedPod({ namespace }));
  t.is(statusCode(denied), 403);

  const rbac = plane.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({
    namespace,
    body: {
      metadata: { name: 'pod-reader' },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'zookeeper-operator-reads-pods' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'zookeeper-operator', namespace }],
    },
  });

  const pods = await pollUntil('the RoleBinding to take effect', () => asOperator.listNamespacedPod({ namespace }), {
    timeoutMs: 30_000,
  });
  t.deepEqual(pods.items, []);
  const stillDenied = await t.throwsAsync(asOperator.listNamespacedSecret({ namespace }));
  t.is(statusCode(stillDenied), 403);
});
