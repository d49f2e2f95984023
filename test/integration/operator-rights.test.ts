/**
 * The operator's rights against a control plane of this file's own, whose kube-apiserver runs
 * the OwnerReferencesPermissionEnforcement admission plugin (as hardened clusters do) and an
 * audit log of every request a service account makes:
 * - without `update` on zookeeperclusters/finalizers, the API server refuses the owner
 *   references the operator sets (blockOwnerDeletion), on create and on server-side apply;
 * - `kubectl auth can-i --list` as the chart's ServiceAccount prints exactly the table in
 *   docs/install.md, in the release namespace and in any other;
 * - the chart's own operator pod, under exactly those rights, runs a one-member cluster to
 *   Running, restarts its member, and removes its NetworkPolicy when the spec turns it off; its
 *   NetworkPolicy admits the operator's pods by the labels they really carry; the API server
 *   refused none of its requests, and each one is among the rights the code needs (as
 *   test/support/operator-rights.ts derives them from the code).
 * The process kubelet does not enforce NetworkPolicies: what they admit is not tested here.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  NetworkingV1Api,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  type V1PolicyRule,
} from '@kubernetes/client-node';
import test, { type ExecutionContext } from 'ava';
import { load } from 'js-yaml';
import { CHART_DIR } from '../../scripts/deploy-manifests.js';
import { API_GROUP, API_VERSION, PLURAL, RESTART_ANNOTATION } from '../../src/api/constants.js';
import type { ZooKeeperCluster, ZooKeeperClusterSpec, ZooKeeperClusterStatus } from '../../src/api/types.js';
import { ownerReference } from '../../src/render/cluster.js';
import { type ControlPlane, startControlPlane, toolEnvironment } from '../harness/controlplane.js';
import { type Kubelet, startKubelet } from '../harness/kubelet/index.js';
import { sweepLeftoversBeforeStart } from '../harness/leftovers.js';
import { pollUntil } from '../harness/poll.js';
import { repoPath } from '../harness/repo.js';
import { createTemporaryWorkDir, type WorkDir } from '../harness/work-dir.js';
import { isRunning } from '../support/clusters.js';
import { neededRights, right } from '../support/operator-rights.js';

const run = promisify(execFile);
const RELEASE = 'zookeeper-operator';
const RELEASE_NAMESPACE = 'zookeeper-operator';
const SERVICE_ACCOUNT = `system:serviceaccount:${RELEASE_NAMESPACE}:${RELEASE}`;

/** Metadata of every request by a service account (the operator's pod is the only one that makes any). */
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    userGroups: ["system:serviceaccounts"]
  - level: None
`;

let plane: ControlPlane;
let kubelet: Kubelet | undefined;
let kubeletDir: WorkDir | undefined;
let auditDir: WorkDir;

test.before(async (t) => {
  await sweepLeftoversBeforeStart((line) => t.log(line));
  auditDir = await createTemporaryWorkDir('zkop-audit-');
  await writeFile(join(auditDir.path, 'policy.yaml'), AUDIT_POLICY);
  plane = await startControlPlane({
    apiserverArgs: [
      '--enable-admission-plugins=OwnerReferencesPermissionEnforcement',
      `--audit-policy-file=${join(auditDir.path, 'policy.yaml')}`,
      `--audit-log-path=${join(auditDir.path, 'audit.log')}`,
      '--audit-log-format=json',
    ],
  });
  kubeletDir = await createTemporaryWorkDir('zkop-kubelet-', { removeWhenThreadDies: false });
  kubelet = await startKubelet({ kubeConfig: plane.kubeConfig, workDir: kubeletDir.path });
});

test.after.always(async () => {
  await kubelet?.stop();
  await plane?.stop();
  await kubeletDir?.remove();
  await auditDir?.remove();
});

async function tool(binary: 'helm' | 'kubectl', args: string[]): Promise<string> {
  try {
    return (await run(plane.binaries[binary], args, { env: toolEnvironment(plane), maxBuffer: 16 << 20 })).stdout;
  } catch (error) {
    throw new Error(`${binary} ${args.join(' ')} failed: ${(error as { stderr?: string }).stderr ?? String(error)}`);
  }
}

async function createNamespace(name: string, labels: Record<string, string> = {}): Promise<void> {
  await plane.kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name, labels } } });
}

async function createCluster(
  namespace: string,
  name: string,
  spec: ZooKeeperClusterSpec = {},
): Promise<ZooKeeperCluster> {
  return (await plane.kubeConfig.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group: API_GROUP,
    version: API_VERSION,
    plural: PLURAL,
    namespace,
    body: { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: 'ZooKeeperCluster', metadata: { name }, spec },
  })) as ZooKeeperCluster;
}

const clusterRequest = (namespace: string, name: string) => ({
  group: API_GROUP,
  version: API_VERSION,
  plural: PLURAL,
  namespace,
  name,
});

async function waitForStatus(
  namespace: string,
  name: string,
  what: string,
  accept: (status: ZooKeeperClusterStatus, cluster: ZooKeeperCluster) => boolean,
): Promise<ZooKeeperClusterStatus> {
  const custom = plane.kubeConfig.makeApiClient(CustomObjectsApi);
  return pollUntil(
    `${namespace}/${name}: ${what}`,
    async () => {
      const cluster = (await custom.getNamespacedCustomObject(clusterRequest(namespace, name))) as ZooKeeperCluster;
      if (cluster.status !== undefined && accept(cluster.status, cluster)) return cluster.status;
      throw new Error(`status: ${JSON.stringify(cluster.status?.conditions?.map((c) => `${c.type} ${c.reason}`))}`);
    },
    { timeoutMs: 180_000, intervalMs: 500 },
  );
}

/** A user bound, in `namespace`, to the chart's cluster rules as `adjust` leaves them. */
async function userWithRules(
  namespace: string,
  user: string,
  adjust: (rules: V1PolicyRule[]) => V1PolicyRule[],
): Promise<KubeConfig> {
  const rules = load(readFileSync(`${CHART_DIR}/files/cluster-rules.yaml`, 'utf8')) as V1PolicyRule[];
  const rbac = plane.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({ namespace, body: { metadata: { name: user }, rules: adjust(rules) } });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: user },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: user },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
    },
  });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(await plane.mintKubeconfig(user, []));
  return kubeConfig;
}

/** The API server's refusal message, or a failure when it accepted the request. */
async function refusal(t: ExecutionContext, request: Promise<unknown>): Promise<string> {
  try {
    await request;
  } catch (error) {
    const { code, body } = error as { code?: number; body?: string };
    t.is(code, 403, `expected 403 Forbidden, got ${code}: ${body}`);
    return (JSON.parse(body ?? '{}') as { message?: string }).message ?? '';
  }
  t.fail('the API server accepted the request');
  return '';
}

test.serial(
  'without update on zookeeperclusters/finalizers the API server refuses the owner references the operator sets',
  async (t) => {
    const namespace = 'finalizers';
    await createNamespace(namespace);
    const cluster = await createCluster(namespace, 'zk');
    const owner = ownerReference(cluster);
    const withoutFinalizers = await userWithRules(namespace, 'operator-without-finalizers', (rules) =>
      rules.filter((rule) => !rule.resources?.includes(`${PLURAL}/finalizers`)),
    );
    const withChartRules = await userWithRules(namespace, 'operator-with-chart-rules', (rules) => rules);
    const secret = (name: string) => ({ metadata: { name, ownerReferences: [owner] }, stringData: { password: 'x' } });
    const configMap = (name: string) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, ownerReferences: [owner] },
    });
    const apply = (kubeConfig: KubeConfig, name: string) =>
      kubeConfig
        .makeApiClient(CoreV1Api)
        .patchNamespacedConfigMap(
          { namespace, name, body: configMap(name), fieldManager: 'zookeeper-operator', force: true },
          setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
        );
    const blocked =
      /cannot set blockOwnerDeletion if an ownerReference refers to a resource you can't set finalizers on/;

    const core = withoutFinalizers.makeApiClient(CoreV1Api);
    t.regex(await refusal(t, core.createNamespacedSecret({ namespace, body: secret('refused') })), blocked);
    t.regex(await refusal(t, apply(withoutFinalizers, 'refused')), blocked);

    const created = await withChartRules
      .makeApiClient(CoreV1Api)
      .createNamespacedSecret({ namespace, body: secret('allowed') });
    t.is(created.metadata?.ownerReferences?.[0]?.blockOwnerDeletion, true);
    const applied = await apply(withChartRules, 'allowed');
    t.is(applied.metadata?.ownerReferences?.[0]?.uid, cluster.metadata.uid);
  },
);

/** `kubectl auth can-i --list` rows: `resource|non-resource URL  verbs`, verbs sorted. */
async function canIList(namespace: string): Promise<string[]> {
  const output = await tool('kubectl', ['auth', 'can-i', '--list', `--as=${SERVICE_ACCOUNT}`, '-n', namespace]);
  const rows = output
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const match = /^(.*?)\s+\[([^\]]*)\]\s+\[([^\]]*)\]\s+\[([^\]]*)\]\s*$/.exec(line);
      if (!match) throw new Error(`cannot read the can-i line "${line}"`);
      const [, resource = '', urls = '', names = '', verbs = ''] = match;
      if (names !== '') throw new Error(`a grant limited to resource names: "${line}"`);
      return `${resource.trim() || urls}  ${verbs.split(' ').sort().join(' ')}`;
    });
  // A URL two default roles both grant is printed twice.
  return [...new Set(rows)].sort();
}

/** The table in docs/install.md, as can-i rows; `releaseNamespaceOnly` rows hold only in the release namespace. */
function documentedRights(): { everywhere: string[]; releaseNamespaceOnly: string[] } {
  const docs = readFileSync(repoPath('docs/install.md'), 'utf8');
  const table = /<!-- operator-rights-table -->\n([\s\S]*?)\n<!-- \/operator-rights-table -->/.exec(docs)?.[1];
  if (table === undefined) throw new Error('docs/install.md has no operator-rights-table');
  const everywhere: string[] = [];
  const releaseNamespaceOnly: string[] = [];
  for (const line of table.split('\n').slice(2)) {
    const [, resources = '', verbs = '', where = ''] = line.split('|').map((cell) => cell.trim());
    const verbList = verbs.replaceAll('`', '').split(/,?\s+/).sort().join(' ');
    for (const resource of resources.replaceAll('`', '').split(/,\s+/)) {
      (where.startsWith('release namespace') ? releaseNamespaceOnly : everywhere).push(`${resource}  ${verbList}`);
    }
  }
  return { everywhere: everywhere.sort(), releaseNamespaceOnly: releaseNamespaceOnly.sort() };
}

/** The chart's release, installed once for the tests below, cluster-wide (this control plane is this file's alone). */
let installed: Promise<void> | undefined;
function installChart(): Promise<void> {
  installed ??= (async () => {
    await createNamespace(RELEASE_NAMESPACE, { 'pod-security.kubernetes.io/enforce': 'restricted' });
    await tool('helm', ['install', RELEASE, CHART_DIR, '-n', RELEASE_NAMESPACE, '--wait', '--timeout', '180s']);
  })();
  return installed;
}

test.serial(
  'kubectl auth can-i --list as the chart’s ServiceAccount prints the table in docs/install.md',
  async (t) => {
    await installChart();
    await createNamespace('elsewhere');
    const inReleaseNamespace = await canIList(RELEASE_NAMESPACE);
    t.log(inReleaseNamespace.join('\n'));
    const documented = documentedRights();
    t.deepEqual(inReleaseNamespace, [...documented.everywhere, ...documented.releaseNamespaceOnly].sort());
    t.deepEqual(await canIList('elsewhere'), documented.everywhere);
  },
);

interface AuditEvent {
  user: { username: string };
  impersonatedUser?: unknown;
  verb: string;
  objectRef?: { resource?: string; subresource?: string; apiGroup?: string };
  responseStatus?: { code?: number };
  requestURI: string;
}

test.serial(
  'under exactly the chart’s rights the operator’s pod runs a cluster, restarts it and drops its NetworkPolicy; nothing it asked was refused',
  async (t) => {
    await installChart();
    const core = plane.kubeConfig.makeApiClient(CoreV1Api);
    const namespace = 'apps';
    await createNamespace(namespace);
    // One member on a claim: it keeps its data across the restart below (an ephemeral one would not).
    await createCluster(namespace, 'dev', {
      replicas: 1,
      resources: { requests: { cpu: '100m', memory: '384Mi' }, limits: { memory: '384Mi' } },
      storage: { size: '1Gi', reclaimPolicy: 'Delete' },
    });
    const running = (status: ZooKeeperClusterStatus, cluster: ZooKeeperCluster) => isRunning(status, cluster);
    await waitForStatus(namespace, 'dev', 'Running', running);

    // The NetworkPolicy names the operator's pods by the labels they carry, in the namespace they run in.
    const networking = plane.kubeConfig.makeApiClient(NetworkingV1Api);
    const policy = await networking.readNamespacedNetworkPolicy({ namespace, name: 'dev' });
    const operatorPeers = (policy.spec?.ingress ?? [])
      .flatMap((rule) => rule._from ?? [])
      .filter((peer) => peer.namespaceSelector !== undefined && peer.podSelector?.matchLabels !== undefined);
    t.is(operatorPeers.length, 1);
    const [operatorPod] = (await core.listNamespacedPod({ namespace: RELEASE_NAMESPACE })).items;
    const releaseNamespace = await core.readNamespace({ name: RELEASE_NAMESPACE });
    t.like(operatorPod?.metadata?.labels, operatorPeers[0]?.podSelector?.matchLabels ?? { missing: 'labels' });
    t.like(
      releaseNamespace.metadata?.labels,
      operatorPeers[0]?.namespaceSelector?.matchLabels ?? { missing: 'labels' },
    );

    // A restart evicts the member pod.
    const [member] = (await core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/instance=dev' }))
      .items;
    const custom = plane.kubeConfig.makeApiClient(CustomObjectsApi);
    const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    await custom.patchNamespacedCustomObject(
      { ...clusterRequest(namespace, 'dev'), body: { metadata: { annotations: { [RESTART_ANNOTATION]: 'now' } } } },
      mergePatch,
    );
    await pollUntil(
      'the member pod replaced',
      async () => {
        const [current] = (await core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/instance=dev' }))
          .items;
        return current !== undefined && current.metadata?.uid !== member?.metadata?.uid ? true : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    await waitForStatus(namespace, 'dev', 'Running after the restart', running);

    // Turned off, the NetworkPolicy goes.
    await custom.patchNamespacedCustomObject(
      { ...clusterRequest(namespace, 'dev'), body: { spec: { networkPolicy: { enabled: false } } } },
      mergePatch,
    );
    await pollUntil(
      'the NetworkPolicy deleted',
      () =>
        networking.readNamespacedNetworkPolicy({ namespace, name: 'dev' }).then(
          () => undefined,
          (error: { code?: number }) => (error.code === 404 ? true : Promise.reject(error)),
        ),
      { timeoutMs: 30_000, intervalMs: 250 },
    );

    // The audit log: every request the operator's pod made.
    const events = (await readFile(join(auditDir.path, 'audit.log'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as AuditEvent)
      .filter((event) => event.user.username === SERVICE_ACCOUNT && event.impersonatedUser === undefined);
    t.true(events.length > 0, 'the audit log recorded the operator');
    t.deepEqual(
      events.filter((event) => event.responseStatus?.code === 403).map((event) => `${event.verb} ${event.requestURI}`),
      [],
      'refused requests',
    );
    const needed = new Set(neededRights().map((need) => need.right));
    const used = new Set(
      events
        .filter((event) => event.objectRef?.resource !== undefined)
        .map((event) => {
          const { apiGroup = '', resource = '', subresource } = event.objectRef ?? {};
          return right(apiGroup, subresource === undefined ? resource : `${resource}/${subresource}`, event.verb);
        }),
    );
    t.deepEqual(
      [...used].filter((made) => !needed.has(made)),
      [],
      'requests the analysis of the code does not account for',
    );
    t.log(`rights used in this run: ${[...used].sort().join(', ')}`);
  },
);
