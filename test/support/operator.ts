/**
 * Runs the operator in tests under the RBAC the chart ships (helm/zookeeper-operator/files/*),
 * authenticated as its own user rather than as system:masters, so a missing permission fails
 * the test. Each test's operator watches only the test's namespace, so operators of tests
 * running side by side never act on each other's clusters.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api, type V1PolicyRule } from '@kubernetes/client-node';
import type { ExecutionContext } from 'ava';
import { load } from 'js-yaml';
import { type RunningOperator, startOperator } from '../../src/operator.js';
import type { ApiRequest } from '../../src/runtime/api-client.js';
import { MemoryLogger } from '../../src/runtime/logging.js';
import { controlPlane } from '../harness/fixture.js';
import { pollUntil } from '../harness/poll.js';
import { repoPath } from '../harness/repo.js';
import { FORMED_MS, isSettled, waitForStatus } from './clusters.js';

export const OPERATOR_USER = 'system:serviceaccount:zookeeper-operator:zookeeper-operator';
const CLUSTER_ROLE = 'zookeeper-operator-test';

const rules = (file: string) =>
  load(readFileSync(repoPath(`helm/zookeeper-operator/files/${file}`), 'utf8')) as V1PolicyRule[];

let granted: Promise<string> | undefined;

/** Binds the chart's cluster rules to the operator user (once per test file) and returns its kubeconfig. */
export function operatorKubeconfig(): Promise<string> {
  granted ??= (async () => {
    const plane = await controlPlane();
    const rbac = plane.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    const roleBody = { metadata: { name: CLUSTER_ROLE }, rules: rules('cluster-rules.yaml') };
    await rbac.createClusterRole({ body: roleBody }).catch(async (error: { code?: number }) => {
      if (error.code !== 409) throw error;
      await rbac.replaceClusterRole({ name: CLUSTER_ROLE, body: roleBody });
    });
    await rbac
      .createClusterRoleBinding({
        body: {
          metadata: { name: CLUSTER_ROLE },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: CLUSTER_ROLE },
          subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: OPERATOR_USER }],
        },
      })
      .catch((error: { code?: number }) => {
        if (error.code !== 409) throw error;
      });
    return plane.mintKubeconfig(OPERATOR_USER, ['system:serviceaccounts']);
  })();
  return granted;
}

/** Grants the leader-election rules in `namespace` (where the Lease lives). */
export async function grantLeaderElection(namespace: string): Promise<void> {
  const rbac = (await controlPlane()).kubeConfig.makeApiClient(RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({
    namespace,
    body: { metadata: { name: 'zookeeper-operator-leader-election' }, rules: rules('leader-election-rules.yaml') },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'zookeeper-operator-leader-election' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'zookeeper-operator-leader-election' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: OPERATOR_USER }],
    },
  });
}

export interface OperatorInTest {
  operator: RunningOperator;
  requests: ApiRequest[];
  logger: MemoryLogger;
}

/** Starts the operator in this process for `namespace`, acting at once; stopped at teardown. */
export async function runOperator(t: ExecutionContext, namespace: string): Promise<OperatorInTest> {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(await operatorKubeconfig());
  const requests: ApiRequest[] = [];
  const logger = new MemoryLogger();
  const operator = await startOperator({
    kubeConfig,
    namespaces: [namespace],
    workers: 2,
    probeAddress: '127.0.0.1:0',
    logger,
    onApiRequest: (request) => requests.push(request),
    drainTimeoutMs: 5_000,
  });
  t.teardown(() => operator.stop());
  operator.startActing();
  return { operator, requests, logger };
}

/** Reconciles finished so far, whatever their result, from the operator's `controller_runtime_reconcile_total`. */
export async function reconcileCount(metrics: Promise<string>): Promise<number> {
  return [...(await metrics).matchAll(/^controller_runtime_reconcile_total\{[^}]*\} (\d+)/gm)].reduce(
    (sum, match) => sum + Number(match[1]),
    0,
  );
}

/** Waits until the operator has finished more than `count` reconciles. */
export async function reconciledAfter(operator: RunningOperator, count: number, what: string): Promise<void> {
  await pollUntil(
    `a reconcile after ${what}`,
    async () => ((await reconcileCount(operator.metrics.render())) > count ? true : undefined),
    { timeoutMs: 30_000, intervalMs: 100 },
  );
}

/**
 * Waits until cluster `name` has nothing left to do: the status says settled, the bootstrap
 * marker is off (it turns off one reconcile after the status first says the ensemble formed;
 * see the reconciler unit test), and the reconcile that turned it off has finished, Event and
 * all. Reconciles of one key never overlap, so a count beyond the one read after the marker
 * turned off means that reconcile is done. From here on the operator only resyncs (30 s).
 */
export async function settled(namespace: string, name: string, operator: RunningOperator): Promise<void> {
  await waitForStatus(namespace, name, 'settled', isSettled, FORMED_MS);
  const core = (await controlPlane()).kubeConfig.makeApiClient(CoreV1Api);
  await pollUntil(
    'the bootstrap marker to turn off',
    async () =>
      (await core.readNamespacedConfigMap({ namespace, name: `${name}-config` })).data?.bootstrap === 'false'
        ? true
        : undefined,
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  await reconciledAfter(operator, await reconcileCount(operator.metrics.render()), 'the marker turned off');
}

export interface OperatorProcess {
  child: ChildProcess;
  output: string[];
  identity: Promise<string>;
}

/**
 * Starts the real entry point (`src/main.ts`) as its own process with leader election, watching
 * `namespace`; its log lines are collected. Callers kill it (SIGKILL to crash it). `kubeconfig`
 * replaces the operator user's own (e.g. one that reaches the API server through a relay).
 */
export async function startOperatorProcess(
  namespace: string,
  options: { kubeconfig?: string } = {},
): Promise<OperatorProcess> {
  // Node itself (with tsx as a loader), not the tsx CLI: a signal must reach the operator process.
  const child = spawn(
    repoPath('node_modules/.bin/node'),
    [
      '--import=tsx',
      repoPath('src/main.ts'),
      '--leader-elect',
      `--leader-election-namespace=${namespace}`,
      `--namespaces=${namespace}`,
      '--probe-address=127.0.0.1:0',
      '--log-format=json',
    ],
    {
      env: { ...process.env, KUBECONFIG: options.kubeconfig ?? (await operatorKubeconfig()) },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const output: string[] = [];
  const identity = new Promise<string>((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        output.push(line);
        const identityField = /"identity":"([^"]+)"/.exec(line)?.[1];
        if (line.includes('operator started') && identityField) resolve(identityField);
      }
    });
    child.once('exit', (code) => reject(new Error(`operator exited with ${code}: ${output.slice(-5).join('\n')}`)));
  });
  return { child, output, identity };
}
