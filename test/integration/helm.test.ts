/**
 * The chart against the real control plane: `helm install`, a server-side dry-run apply of
 * everything the release created, the permissions its RBAC really grants, upgrade and uninstall;
 * and the operator's own pod, from the chart, running a cluster.
 *
 * The process kubelet runs the local operator image (`zookeeper-operator:<tag>`, the chart's
 * default) as this checkout's entry point, with a bound service-account token at the standard
 * path and the API server reached from the pod's network namespace (see
 * test/harness/kubelet/api-access.ts). The cluster-wide install points at another registry, so
 * its pod is admitted and bound but never runs: an operator watching every namespace would act
 * on the other tests' clusters.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1PolicyRule,
} from '@kubernetes/client-node';
import test, { type ExecutionContext } from 'ava';
import { load, loadAll } from 'js-yaml';
import { CHART_DIR } from '../../scripts/deploy-manifests.js';
import { toolEnvironment } from '../harness/controlplane.js';
import { controlPlane, newNamespace } from '../harness/fixture.js';
import { pollUntil } from '../harness/poll.js';
import { repoPath } from '../harness/repo.js';
import { FORMED_MS, isRunning, waitForStatus } from '../support/clusters.js';

const run = promisify(execFile);

async function tool(binary: 'helm' | 'kubectl', args: string[], input?: string): Promise<string> {
  const plane = await controlPlane();
  const child = run(plane.binaries[binary], args, {
    env: toolEnvironment(plane),
    maxBuffer: 16 * 1024 * 1024,
  });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  }
  try {
    return (await child).stdout;
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`${binary} ${args.join(' ')} failed: ${stderr ?? String(error)}`);
  }
}

/** A release name that is also every object's full name (it contains the chart's name). */
const releaseName = () => `zookeeper-operator-${randomBytes(3).toString('hex')}`;

async function install(t: ExecutionContext, release: string, namespace: string, sets: string[] = []): Promise<void> {
  await tool('helm', ['install', release, CHART_DIR, '-n', namespace, ...sets.flatMap((set) => ['--set', set])]);
  t.teardown(() => tool('helm', ['uninstall', release, '-n', namespace, '--ignore-not-found']));
}

/** Namespace where pods must meet the "restricted" Pod Security Standard, or be refused. */
async function restrictedNamespace(t: ExecutionContext): Promise<string> {
  const namespace = await newNamespace(t);
  const core = (await controlPlane()).kubeConfig.makeApiClient(CoreV1Api);
  await core.patchNamespace(
    { name: namespace, body: { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  return namespace;
}

/** Whether files/cluster-rules.yaml grants `verb` on `resource` in `apiGroup`. */
function fileGrants(apiGroup: string, resource: string, verb: string): boolean {
  const rules = load(readFileSync(`${CHART_DIR}/files/cluster-rules.yaml`, 'utf8')) as V1PolicyRule[];
  return rules.some(
    (rule) => rule.apiGroups?.includes(apiGroup) && rule.resources?.includes(resource) && rule.verbs.includes(verb),
  );
}

/** `kubectl auth can-i` as the release's ServiceAccount. */
async function canI(serviceAccount: string, args: string[]): Promise<boolean> {
  const plane = await controlPlane();
  const outcome = await run(plane.binaries.kubectl, ['auth', 'can-i', `--as=${serviceAccount}`, ...args], {
    env: toolEnvironment(plane),
  }).then(
    ({ stdout }) => stdout,
    (error: { stdout?: string }) => error.stdout ?? '',
  );
  return outcome.trim() === 'yes';
}

test('helm install creates objects the API server accepts; the RBAC grants exactly the rules; upgrade and uninstall work', async (t) => {
  const namespace = await restrictedNamespace(t);
  const release = releaseName();
  await install(t, release, namespace, ['image.repository=registry.example/zookeeper-operator']);

  const manifest = await tool('helm', ['get', 'manifest', release, '-n', namespace]);
  const objects = (loadAll(manifest) as ({ kind: string } | null)[]).filter((object) => object !== null);
  t.deepEqual(objects.map((object) => object.kind).sort(), [
    'ClusterRole',
    'ClusterRoleBinding',
    'Deployment',
    'Role',
    'RoleBinding',
    'Service',
    'ServiceAccount',
  ]);
  const dryRun = await tool(
    'kubectl',
    ['apply', '--server-side', '--dry-run=server', '--force-conflicts', '-n', namespace, '-f', '-'],
    manifest,
  );
  const applied = dryRun.trim().split('\n');
  t.is(applied.length, objects.length);
  for (const line of applied) t.regex(line, /serverside-applied \(server dry run\)$/);

  // Admitted under the restricted profile, bound, and refused only by the process kubelet (an
  // image from another registry).
  const core = (await controlPlane()).kubeConfig.makeApiClient(CoreV1Api);
  const pod = await pollUntil(
    'the operator pod, waiting with the process kubelet’s reason',
    async () => {
      const [candidate] = (await core.listNamespacedPod({ namespace })).items;
      const reason = candidate?.status?.containerStatuses?.[0]?.state?.waiting?.reason;
      if (reason !== 'UnsupportedByProcessKubelet') throw new Error(`pod: ${JSON.stringify(candidate?.status)}`);
      return candidate;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  t.truthy(pod?.spec?.nodeName);
  t.is(pod?.spec?.securityContext?.seccompProfile?.type, 'RuntimeDefault');

  const serviceAccount = `system:serviceaccount:${namespace}:${release}`;
  t.true(await canI(serviceAccount, ['list', 'zookeeperclusters.zookeeper.ensembles.dev', '--all-namespaces']));
  t.true(await canI(serviceAccount, ['patch', 'statefulsets.apps', '-n', 'default']));
  // Members restart by eviction, so the PodDisruptionBudget arbitrates; pods are never deleted.
  t.true(await canI(serviceAccount, ['create', 'pods', '--subresource=eviction', '-n', 'default']));
  t.false(await canI(serviceAccount, ['delete', 'pods', '-n', 'default']));
  // Secrets only as far as the rules file grants them.
  t.is(await canI(serviceAccount, ['get', 'secrets', '-n', 'default']), fileGrants('', 'secrets', 'get'));
  // StatefulSets are deleted (pods orphaned) to grow volumes; Deployments are never touched.
  t.true(await canI(serviceAccount, ['delete', 'statefulsets.apps', '-n', 'default']));
  t.false(await canI(serviceAccount, ['delete', 'deployments.apps', '-n', 'default']));
  t.false(await canI(serviceAccount, ['update', 'zookeeperclusters.zookeeper.ensembles.dev', '-n', 'default']));
  t.true(await canI(serviceAccount, ['create', 'leases.coordination.k8s.io', '-n', namespace]));
  t.false(await canI(serviceAccount, ['create', 'leases.coordination.k8s.io', '-n', 'default']));

  await tool('helm', ['upgrade', release, CHART_DIR, '-n', namespace, '--reuse-values', '--set', 'replicaCount=2']);
  const apps = (await controlPlane()).kubeConfig.makeApiClient(AppsV1Api);
  t.is((await apps.readNamespacedDeployment({ name: release, namespace })).spec?.replicas, 2);

  await tool('helm', ['uninstall', release, '-n', namespace]);
  t.false(await canI(serviceAccount, ['list', 'zookeeperclusters.zookeeper.ensembles.dev', '--all-namespaces']));
  // The CRD (and so every cluster) outlives the release: Helm never deletes crds/.
  t.regex(
    await tool('kubectl', ['get', 'crd', 'zookeeperclusters.zookeeper.ensembles.dev', '-o', 'name']),
    /zookeeperclusters/,
  );
});

test('namespaced install: the operator’s own pod runs a cluster in a watched namespace', async (t) => {
  const namespace = await restrictedNamespace(t);
  const [watchedA, watchedB, unwatched] = [await newNamespace(t), await newNamespace(t), await newNamespace(t)];
  const release = releaseName();
  await install(t, release, namespace, [`watchNamespaces={${watchedA},${watchedB}}`]);

  const serviceAccount = `system:serviceaccount:${namespace}:${release}`;
  for (const watched of [watchedA, watchedB]) {
    t.true(await canI(serviceAccount, ['watch', 'zookeeperclusters.zookeeper.ensembles.dev', '-n', watched]));
    t.true(await canI(serviceAccount, ['create', 'statefulsets.apps', '-n', watched]));
  }
  t.false(await canI(serviceAccount, ['list', 'zookeeperclusters.zookeeper.ensembles.dev', '-n', unwatched]));
  t.false(await canI(serviceAccount, ['list', 'zookeeperclusters.zookeeper.ensembles.dev', '--all-namespaces']));

  // The Deployment's pod runs and turns Ready: its readiness probe is the operator's /readyz.
  const apps = (await controlPlane()).kubeConfig.makeApiClient(AppsV1Api);
  const deployment = await apps.readNamespacedDeployment({ name: release, namespace });
  t.is(deployment.spec?.template.spec?.containers[0]?.readinessProbe?.httpGet?.path, '/readyz');
  const core = (await controlPlane()).kubeConfig.makeApiClient(CoreV1Api);
  const pod = await pollUntil(
    'the operator pod Ready',
    async () => {
      const [candidate] = (await core.listNamespacedPod({ namespace })).items;
      const ready = candidate?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      if (!ready) throw new Error(`pod: ${JSON.stringify(candidate?.status?.containerStatuses?.[0]?.state)}`);
      return candidate;
    },
    { timeoutMs: 120_000, intervalMs: 500 },
  );
  t.is(pod?.status?.containerStatuses?.[0]?.imageID, 'process-kubelet://zookeeper-operator-local');

  await tool('kubectl', ['apply', '--server-side', '-n', watchedA, '-f', repoPath('examples/dev-ephemeral.yaml')]);
  const status = await waitForStatus(watchedA, 'dev', 'running', isRunning, FORMED_MS);
  t.is(status.ready, '1/1');

  // It leads through the Lease in its own namespace, under the pod's name (its hostname).
  const leaseName = deployment.spec?.template.spec?.containers[0]?.env?.find(
    (e) => e.name === 'LEADER_ELECTION_ID',
  )?.value;
  const leases = (await controlPlane()).kubeConfig.makeApiClient(CoordinationV1Api);
  const lease = await leases.readNamespacedLease({ name: leaseName ?? '', namespace });
  t.true(lease.spec?.holderIdentity?.startsWith(`${pod?.metadata?.name}-`), lease.spec?.holderIdentity);
});
