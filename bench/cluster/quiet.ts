/**
 * Quiet status: what a settled 3-member cluster costs while nothing changes, over one minute
 * idle and one minute under a busy writer. Counts only:
 * - API writes by the operator, from the apiserver's side: its audit log (every create, update,
 *   patch and delete by the operator's user, in the cluster's namespace; see auditPolicy);
 * - four-letter words (one connection each) each member served to the operator, from the
 *   member's own log (test/support/member-logs.ts).
 *
 * Checks: the cluster stays settled through both windows, and the writer loses no write.
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { CoreV1Api } from '@kubernetes/client-node';
import { controlPlane } from '../../test/harness/fixture.js';
import { pollUntil } from '../../test/harness/poll.js';
import {
  connectionString,
  createCluster,
  FORMED_MS,
  isSettled,
  memberPods,
  readCluster,
  waitForStatus,
} from '../../test/support/clusters.js';
import { operatorWords } from '../../test/support/member-logs.js';
import { OPERATOR_USER } from '../../test/support/operator.js';
import { ZnodeWriter } from '../../test/support/znode-writer.js';
import { check, inScenario } from './scenario.js';

export interface QuietWindow {
  /** API writes by the operator in the window, by `verb resource[/subresource]`. */
  writes: Record<string, number>;
  writesPerMinute: number;
  /** Four-letter words served to the operator per member per minute (one connection each). */
  connectionsPerMemberPerMinute: number;
}

export interface QuietStatus {
  idle: QuietWindow;
  busy: QuietWindow & { znodesPerSecond: number };
}

const WINDOW_MS = 60_000;

/** The audit policy `make bench` gives kube-apiserver: metadata of every write by the operator, nothing else. */
export const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    users: ["${OPERATOR_USER}"]
    verbs: [create, update, patch, delete, deletecollection]
  - level: None
`;

interface AuditEvent {
  stage: string;
  verb: string;
  user: { username: string };
  objectRef?: { resource?: string; subresource?: string; namespace?: string };
  stageTimestamp: string;
}

/** The operator's writes in `namespace` that completed between `fromMs` and `toMs`, counted by verb and resource. */
async function auditedWrites(
  auditLog: string,
  namespace: string,
  fromMs: number,
  toMs: number,
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const line of (await readFile(auditLog, 'utf8')).split('\n')) {
    if (line === '') continue;
    const event = JSON.parse(line) as AuditEvent;
    const at = Date.parse(event.stageTimestamp);
    if (event.stage !== 'ResponseComplete' || event.user.username !== OPERATOR_USER) continue;
    if (event.objectRef?.namespace !== namespace || at < fromMs || at > toMs) continue;
    const what = `${event.verb} ${event.objectRef.resource}${event.objectRef.subresource ? `/${event.objectRef.subresource}` : ''}`;
    counts[what] = (counts[what] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

async function measureWindow(auditLog: string, namespace: string, during: () => Promise<void>): Promise<QuietWindow> {
  const pods = await memberPods(namespace, 'zk');
  const wordsBefore = await operatorWords(pods);
  const fromMs = Date.now();
  await during();
  const toMs = Date.now();
  const wordsAfter = await operatorWords(pods);
  // The audit log is written as requests complete; a moment lets the last line land.
  await delay(1_000);
  const writes = await auditedWrites(auditLog, namespace, fromMs, toMs);
  const minutes = (toMs - fromMs) / 60_000;
  const words = pods.map(
    (p) => (wordsAfter.get(p.metadata?.name ?? '') ?? 0) - (wordsBefore.get(p.metadata?.name ?? '') ?? 0),
  );
  const total = Object.values(writes).reduce((a, b) => a + b, 0);
  return {
    writes,
    writesPerMinute: Math.round((total / minutes) * 10) / 10,
    connectionsPerMemberPerMinute: Math.round((words.reduce((a, b) => a + b, 0) / pods.length / minutes) * 10) / 10,
  };
}

export async function quietBenchmark(
  auditLog: string | undefined,
  resultsDir: string,
  log: (line: string) => void,
): Promise<QuietStatus> {
  check(
    auditLog !== undefined,
    'the quiet-status benchmark counts writes in the audit log of a control plane make bench starts itself; unset ZKOP_TEST_CONTROL_PLANE',
  );
  const audit = auditLog as string;
  return inScenario('quiet', resultsDir, async ({ namespace }) => {
    const createdAtMs = Date.now();
    await createCluster(namespace, 'zk', { replicas: 3, storage: { size: '1Gi' } });
    await waitForStatus(namespace, 'zk', 'settled', isSettled, FORMED_MS);
    // Settled includes the bootstrap marker turned off (one reconcile after the ensemble formed).
    const core = (await controlPlane()).kubeConfig.makeApiClient(CoreV1Api);
    await pollUntil(
      'the bootstrap marker to turn off',
      async () =>
        (await core.readNamespacedConfigMap({ namespace, name: 'zk-config' })).data?.bootstrap === 'false'
          ? true
          : undefined,
      { timeoutMs: 60_000 },
    );
    await delay(5_000);
    // The count itself is checked: the operator's applies (server-side apply: PATCH) while forming must be there.
    const forming = await auditedWrites(audit, namespace, createdAtMs, Date.now());
    check(
      (forming['patch statefulsets'] ?? 0) > 0,
      `the audit log shows the operator applying the StatefulSet (saw ${JSON.stringify(forming)})`,
    );
    log('quiet: one idle minute');
    const idle = await measureWindow(audit, namespace, () => delay(WINDOW_MS));
    log('quiet: one minute under a writer');
    let acknowledged = 0;
    const busy = await measureWindow(audit, namespace, async () => {
      const writer = await ZnodeWriter.start(() => connectionString(namespace, 'zk'), '/quiet');
      await delay(WINDOW_MS);
      const report = await writer.stop();
      check(report.lost.length === 0, `${report.lost.length} acknowledged writes lost`);
      acknowledged = report.acknowledged;
    });
    const cluster = await readCluster(namespace, 'zk');
    check(cluster.status !== undefined && isSettled(cluster.status, cluster), 'the cluster stayed settled');
    return { idle, busy: { ...busy, znodesPerSecond: Math.round(acknowledged / (WINDOW_MS / 1000)) } };
  });
}
