/**
 * Footprint and scale of the production build (issue #14, item 5): the operator's memory and CPU
 * with 1, 100 and 1,000 ZooKeeperClusters, the time a cold-started operator takes to observe
 * them all, and the API writes it makes once they are settled. Writes JSON (`--out`) and prints
 * a markdown table.
 *
 *   node --import=tsx bench/footprint.ts --out footprint.json [--sizes 1,100,1000]
 *     [--sample-seconds 180] [--replicas 3] [--batch 50] [--skip-build]
 *     [--soak-minutes 60 --soak-at 100 --soak-bucket-minutes 10]
 *     [--node-flags '--max-semi-space-size=2'] [--operator-env NAME=VALUE ...]
 *
 * What runs: the test control plane (etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler) without the process kubelet, so there is no node and every member pod stays
 * Pending (the clusters also carry a node selector no node has); the operator is `node
 * <the image's flags> dist/main.js` from `npm run build` (the Dockerfile's ENTRYPOINT flags, unless
 * `--node-flags` says otherwise), under the chart's RBAC as its own user, watching one
 * namespace, without leader election (so it writes no Lease).
 *
 * Definitions:
 * - observed: the cluster's status is written for its current generation (status.observedGeneration
 *   equals metadata.generation), and its StatefulSet exists;
 * - settled: all clusters observed, then no API write by the operator for `SETTLE_QUIET_MS`
 *   (or `SETTLE_TIMEOUT_MS` passed, recorded as not settled);
 * - API writes: create/update/patch/delete requests by the operator's user in the API server's
 *   audit log (the server's own count, not the operator's);
 * - re-applies: the operator's "updated <Kind> <name>" log lines;
 * - cold start: the operator is stopped, every cluster's status is cleared, and a new operator
 *   process starts; the time runs from its spawn until every cluster is observed again.
 * Memory is VmRSS/VmHWM from /proc/<pid>/status, CPU utime+stime from /proc/<pid>/stat, sampled
 * every `--interval-seconds` through each window. Ratios are against figures of this same run:
 * the operator's RSS with 1 cluster, and a bare `node -e` process (the floor).
 *
 * Soak (`--soak-minutes`): after the window at `--soak-at` clusters (default the last size),
 * the settled operator is sampled for that long more, as consecutive windows of
 * `--soak-bucket-minutes` each, so drift shows as the first bucket against the last. Nothing is
 * created during a soak; the line "soak started" marks the moment (after it, until the next
 * size's creates, the run only samples).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs, promisify } from 'node:util';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  type V1PolicyRule,
} from '@kubernetes/client-node';
import { load } from 'js-yaml';
import { API_GROUP, API_GROUP_VERSION, API_VERSION, KIND, PLURAL } from '../src/api/constants.js';
import type { ZooKeeperCluster } from '../src/api/types.js';
import { type ControlPlane, startControlPlane } from '../test/harness/controlplane.js';
import { imageNodeFlags } from '../test/harness/image.js';
import { pollUntil } from '../test/harness/poll.js';
import { type HarnessProcess, startProcess } from '../test/harness/processes.js';
import { repoPath } from '../test/harness/repo.js';
import { createTemporaryWorkDir } from '../test/harness/work-dir.js';

const run = promisify(execFile);
const NAMESPACE = 'footprint';
const OPERATOR_USER = 'system:serviceaccount:zookeeper-operator:zookeeper-operator';
const CLUSTER_ROLE = 'zookeeper-operator-footprint';
/** A label no node carries (there are no nodes at all here; this keeps it so where there are). */
const UNSCHEDULABLE = { 'bench.zookeeper-operator/no-such-node': 'true' };
const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);
/** Room for a thousand client Services' ClusterIPs; nothing dials them (there is no kube-proxy). */
const SERVICE_CLUSTER_IP_RANGE = '10.0.0.0/16';
const SETTLE_QUIET_MS = 20_000;
const SETTLE_TIMEOUT_MS = 600_000;
const OBSERVE_TIMEOUT_MS = 900_000;

/** Metadata of every request the operator's user makes, nothing else. */
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    users: ["${OPERATOR_USER}"]
  - level: None
`;

const group = { group: API_GROUP, version: API_VERSION, plural: PLURAL };
const log = (line: string) => process.stderr.write(`footprint: ${line}\n`);
const seconds = (ms: number) => Math.round(ms / 100) / 10;
const mib = (kib: number) => Math.round(kib / 102.4) / 10;

interface ProcessSample {
  atMs: number;
  rssKiB: number;
  hwmKiB: number;
  cpuTicks: number;
}

const CLOCK_TICKS_PER_SECOND = Number((await run('getconf', ['CLK_TCK'])).stdout.trim());

async function sampleProcess(pid: number): Promise<ProcessSample> {
  const [status, stat] = await Promise.all([
    readFile(`/proc/${pid}/status`, 'utf8'),
    readFile(`/proc/${pid}/stat`, 'utf8'),
  ]);
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
  // Fields after the parenthesised command name (which may hold spaces): utime is the 14th field, stime the 15th.
  const afterName = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    atMs: Date.now(),
    rssKiB: field('VmRSS'),
    hwmKiB: field('VmHWM'),
    cpuTicks: Number(afterName[11]) + Number(afterName[12]),
  };
}

interface AuditEntry {
  verb: string;
  user: { username: string };
  stageTimestamp: string;
  objectRef?: { resource?: string; subresource?: string };
  responseStatus?: { code?: number };
}

/**
 * The lines of a log another process is still writing: only those ended by a newline (the last
 * one may be half written; the 1,000-cluster run once read half an audit event).
 */
function completeLines(text: string): string[] {
  return text.split('\n').slice(0, -1).filter(Boolean);
}

/** The operator's write requests in the audit log, as `[time ms, resource, code]`. */
async function operatorWrites(auditLog: string): Promise<{ atMs: number; resource: string; code: number }[]> {
  const text = await readFile(auditLog, 'utf8').catch(() => '');
  return completeLines(text)
    .map((line) => JSON.parse(line) as AuditEntry)
    .filter((entry) => entry.user.username === OPERATOR_USER && WRITE_VERBS.has(entry.verb))
    .map((entry) => ({
      atMs: Date.parse(entry.stageTimestamp),
      resource: [entry.objectRef?.resource, entry.objectRef?.subresource].filter(Boolean).join('/'),
      code: entry.responseStatus?.code ?? 0,
    }));
}

/** The operator's "updated <Kind> <name>" log lines (a re-apply of a child), as times. */
async function reapplies(logPath: string): Promise<number[]> {
  const text = await readFile(logPath, 'utf8');
  return completeLines(text)
    .filter((line) => line.includes('"message":"updated '))
    .map((line) => Date.parse((JSON.parse(line) as { timestamp: string }).timestamp));
}

const rules = (file: string) =>
  load(readFileSync(repoPath(`helm/zookeeper-operator/files/${file}`), 'utf8')) as V1PolicyRule[];

/** Binds the chart's cluster rules to the operator's user; returns its kubeconfig. */
async function operatorKubeconfig(plane: ControlPlane): Promise<string> {
  const rbac = plane.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
  await rbac.createClusterRole({ body: { metadata: { name: CLUSTER_ROLE }, rules: rules('cluster-rules.yaml') } });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: CLUSTER_ROLE },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: CLUSTER_ROLE },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: OPERATOR_USER }],
    },
  });
  return plane.mintKubeconfig(OPERATOR_USER, ['system:serviceaccounts']);
}

interface Operator {
  process: HarnessProcess;
  logPath: string;
  metricsUrl: string;
}

/** How the operator's Node runs: flags before the script, and extra environment (e.g. MALLOC_ARENA_MAX). */
interface OperatorRuntime {
  nodeFlags: string[];
  env: Record<string, string>;
}

async function startOperator(
  workDir: string,
  kubeconfig: string,
  generation: number,
  runtime: OperatorRuntime,
): Promise<Operator> {
  const logPath = join(workDir, `operator-${generation}.log`);
  const process_ = await startProcess({
    name: `operator ${generation}`,
    command: repoPath('node_modules/.bin/node'),
    args: [
      ...runtime.nodeFlags,
      repoPath('dist/main.js'),
      `--namespaces=${NAMESPACE}`,
      '--probe-address=127.0.0.1:0',
      '--log-format=json',
    ],
    env: { ...process.env, ...runtime.env, KUBECONFIG: kubeconfig, NODE_ENV: 'production' },
    logPath,
  });
  const probeAddress = await pollUntil(
    'the operator to log "operator started"',
    async () => {
      if (process_.hasExited) throw await process_.failure('exited');
      const started = completeLines(await readFile(logPath, 'utf8')).find((line) =>
        line.includes('"operator started"'),
      );
      return started === undefined ? undefined : (JSON.parse(started) as { probeAddress: string }).probeAddress;
    },
    { timeoutMs: 180_000, intervalMs: 200 },
  );
  return { process: process_, logPath, metricsUrl: `http://${probeAddress}/metrics` };
}

/** A few figures from the operator's own /metrics: reconciles finished, heap in use, queue depth. */
async function operatorMetrics(
  operator: Operator,
): Promise<{ reconciles: number; heapUsedMiB: number; heapTotalMiB: number; newSpaceMiB: number; queueDepth: number }> {
  const text = await (await fetch(operator.metricsUrl)).text();
  const sum = (pattern: RegExp) => [...text.matchAll(pattern)].reduce((total, match) => total + Number(match[1]), 0);
  return {
    reconciles: sum(/^controller_runtime_reconcile_total\{[^}]*\} (\S+)/gm),
    heapUsedMiB: Math.round(sum(/^nodejs_heap_size_used_bytes (\S+)/gm) / 104857.6) / 10,
    heapTotalMiB: Math.round(sum(/^nodejs_heap_size_total_bytes (\S+)/gm) / 104857.6) / 10,
    newSpaceMiB: Math.round(sum(/^nodejs_heap_space_size_total_bytes\{space="new"\} (\S+)/gm) / 104857.6) / 10,
    queueDepth: sum(/^workqueue_depth\{[^}]*\} (\S+)/gm),
  };
}

function clusterBody(name: string, replicas: number): ZooKeeperCluster {
  return {
    apiVersion: API_GROUP_VERSION,
    kind: KIND,
    metadata: { name, namespace: NAMESPACE },
    spec: { replicas, pod: { nodeSelector: UNSCHEDULABLE } },
  };
}

const clusterName = (index: number) => `c${String(index).padStart(4, '0')}`;

/** How many clusters are observed (see the header), and how many exist. */
async function countObserved(plane: ControlPlane): Promise<{ observed: number; clusters: number }> {
  const custom = plane.kubeConfig.makeApiClient(CustomObjectsApi);
  const apps = plane.kubeConfig.makeApiClient(AppsV1Api);
  const [list, statefulSets] = await Promise.all([
    custom.listNamespacedCustomObject({ ...group, namespace: NAMESPACE }) as Promise<{ items: ZooKeeperCluster[] }>,
    apps.listNamespacedStatefulSet({ namespace: NAMESPACE }),
  ]);
  const withStatefulSet = new Set(statefulSets.items.map((set) => set.metadata?.name));
  const observed = list.items.filter(
    (cluster) =>
      cluster.status?.observedGeneration === cluster.metadata.generation && withStatefulSet.has(cluster.metadata.name),
  ).length;
  return { observed, clusters: list.items.length };
}

async function waitUntilObserved(plane: ControlPlane, count: number, operator: Operator): Promise<void> {
  let last = '';
  await pollUntil(
    `all ${count} clusters observed`,
    async () => {
      if (operator.process.hasExited) throw await operator.process.failure('exited');
      const { observed } = await countObserved(plane);
      const line = `${observed}/${count} observed`;
      if (line !== last) log(line);
      last = line;
      return observed === count ? true : undefined;
    },
    { timeoutMs: OBSERVE_TIMEOUT_MS, intervalMs: 1_000 },
  );
}

/** Waits until the operator has written nothing for `SETTLE_QUIET_MS`; false if it never stops writing. */
async function waitUntilSettled(auditLog: string): Promise<boolean> {
  const started = Date.now();
  while (Date.now() - started < SETTLE_TIMEOUT_MS) {
    const writes = await operatorWrites(auditLog);
    const lastWriteMs = writes.at(-1)?.atMs ?? 0;
    if (Date.now() - lastWriteMs >= SETTLE_QUIET_MS) return true;
    await delay(2_000);
  }
  return false;
}

interface Window {
  clusters: number;
  seconds: number;
  settled: boolean;
  rssMiB: { first: number; last: number; min: number; max: number };
  hwmMiB: number;
  /** CPU seconds per wall second over the window (1 = one core busy). */
  cpuCores: number;
  heapUsedMiB: { first: number; last: number };
  /** V8's committed heap, and of it the young generation (new space), which grows under allocation. */
  heapTotalMiB: { first: number; last: number };
  newSpaceMiB: { first: number; last: number };
  reconcilesPerMinute: number;
  apiWritesPerMinute: number;
  apiWritesByResource: Record<string, number>;
  reappliesInWindow: number;
  samples: ProcessSample[];
}

/** Samples the operator for `durationMs` and counts what it did meanwhile. */
async function measureWindow(
  operator: Operator,
  auditLog: string,
  clusters: number,
  settled: boolean,
  durationMs: number,
  intervalMs: number,
): Promise<Window> {
  const pid = operator.process.pid;
  const startMetrics = await operatorMetrics(operator);
  const samples = [await sampleProcess(pid)];
  const startMs = samples[0]?.atMs ?? Date.now();
  while (Date.now() - startMs < durationMs) {
    await delay(intervalMs);
    if (operator.process.hasExited) throw await operator.process.failure('exited during a measurement');
    samples.push(await sampleProcess(pid));
  }
  const endMetrics = await operatorMetrics(operator);
  const first = samples[0] as ProcessSample;
  const last = samples.at(-1) as ProcessSample;
  const wallMs = last.atMs - first.atMs;
  const minutes = wallMs / 60_000;
  const writes = (await operatorWrites(auditLog)).filter((w) => w.atMs >= first.atMs && w.atMs <= last.atMs);
  const byResource: Record<string, number> = {};
  for (const write of writes) byResource[write.resource] = (byResource[write.resource] ?? 0) + 1;
  const reapplied = (await reapplies(operator.logPath)).filter((at) => at >= first.atMs && at <= last.atMs);
  return {
    clusters,
    seconds: seconds(wallMs),
    settled,
    rssMiB: {
      first: mib(first.rssKiB),
      last: mib(last.rssKiB),
      min: mib(Math.min(...samples.map((s) => s.rssKiB))),
      max: mib(Math.max(...samples.map((s) => s.rssKiB))),
    },
    hwmMiB: mib(last.hwmKiB),
    cpuCores: Math.round(((last.cpuTicks - first.cpuTicks) / CLOCK_TICKS_PER_SECOND / (wallMs / 1000)) * 1000) / 1000,
    heapUsedMiB: { first: startMetrics.heapUsedMiB, last: endMetrics.heapUsedMiB },
    heapTotalMiB: { first: startMetrics.heapTotalMiB, last: endMetrics.heapTotalMiB },
    newSpaceMiB: { first: startMetrics.newSpaceMiB, last: endMetrics.newSpaceMiB },
    reconcilesPerMinute: Math.round((endMetrics.reconciles - startMetrics.reconciles) / minutes),
    apiWritesPerMinute: Math.round((writes.length / minutes) * 10) / 10,
    apiWritesByResource: byResource,
    reappliesInWindow: reapplied.length,
    samples,
  };
}

interface Soak {
  clusters: number;
  buckets: Window[];
}

/** Consecutive windows of `bucketMs` over `durationMs`, each logged as it ends. */
async function soak(
  operator: Operator,
  auditLog: string,
  clusters: number,
  settled: boolean,
  durationMs: number,
  bucketMs: number,
  intervalMs: number,
): Promise<Window[]> {
  const buckets: Window[] = [];
  for (let elapsed = 0; elapsed < durationMs; elapsed += bucketMs) {
    const bucket = await measureWindow(
      operator,
      auditLog,
      clusters,
      settled,
      Math.min(bucketMs, durationMs - elapsed),
      intervalMs,
    );
    log(
      `soak ${clusters} +${Math.round(Math.min(elapsed + bucketMs, durationMs) / 60_000)} min: ${JSON.stringify({ ...bucket, samples: undefined })}`,
    );
    buckets.push(bucket);
  }
  return buckets;
}

/** RSS of a bare Node process of the same binary: what any Node program costs. */
async function nodeFloorMiB(workDir: string): Promise<number> {
  const floor = await startProcess({
    name: 'bare node',
    command: repoPath('node_modules/.bin/node'),
    args: ['-e', 'setInterval(() => {}, 1 << 30)'],
    logPath: join(workDir, 'bare-node.log'),
  });
  await delay(2_000);
  const sample = await sampleProcess(floor.pid);
  await floor.stop();
  return mib(sample.rssKiB);
}

async function createClusters(plane: ControlPlane, from: number, to: number, replicas: number, batch: number) {
  const custom = plane.kubeConfig.makeApiClient(CustomObjectsApi);
  for (let start = from; start < to; start += batch) {
    const names = Array.from({ length: Math.min(batch, to - start) }, (_, i) => clusterName(start + i));
    await Promise.all(
      names.map((name) =>
        custom.createNamespacedCustomObject({ ...group, namespace: NAMESPACE, body: clusterBody(name, replicas) }),
      ),
    );
  }
}

/** Clears every cluster's status (as admin), so that a new operator has to observe each one to write it back. */
async function clearStatuses(plane: ControlPlane, count: number, batch: number): Promise<void> {
  const custom = plane.kubeConfig.makeApiClient(CustomObjectsApi);
  for (let start = 0; start < count; start += batch) {
    const names = Array.from({ length: Math.min(batch, count - start) }, (_, i) => clusterName(start + i));
    await Promise.all(
      names.map((name) =>
        custom.patchNamespacedCustomObjectStatus(
          { ...group, namespace: NAMESPACE, name, body: { status: null } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        ),
      ),
    );
  }
}

interface ColdStart {
  clusters: number;
  /** From spawn to the first "operator started" line (caches synced). */
  startedSeconds: number;
  /** From spawn until every cluster is observed again. */
  observedSeconds: number;
  rssAtObservedMiB: number;
  hwmAtObservedMiB: number;
  /** CPU the new process used from its spawn until all were observed (utime+stime). */
  cpuSeconds: number;
  apiWrites: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      sizes: { type: 'string', default: '1,100,1000' },
      'sample-seconds': { type: 'string', default: '180' },
      'interval-seconds': { type: 'string', default: '5' },
      replicas: { type: 'string', default: '3' },
      batch: { type: 'string', default: '50' },
      'skip-build': { type: 'boolean', default: false },
      'soak-minutes': { type: 'string', default: '0' },
      'soak-at': { type: 'string' },
      'soak-bucket-minutes': { type: 'string', default: '10' },
      'node-flags': { type: 'string' },
      'operator-env': { type: 'string', multiple: true, default: [] },
    },
  });
  if (values.out === undefined) throw new Error('--out <file.json> is required');
  const sizes = values.sizes.split(',').map(Number);
  if (sizes.some((size, i) => !Number.isInteger(size) || size < 1 || size <= (sizes[i - 1] ?? 0))) {
    throw new Error(`--sizes must be increasing positive integers, got ${values.sizes}`);
  }
  const sampleMs = Number(values['sample-seconds']) * 1000;
  const intervalMs = Number(values['interval-seconds']) * 1000;
  const replicas = Number(values.replicas);
  const batch = Number(values.batch);
  const soakMs = Number(values['soak-minutes']) * 60_000;
  const soakAt = Number(values['soak-at'] ?? sizes.at(-1));
  const soakBucketMs = Number(values['soak-bucket-minutes']) * 60_000;
  if (soakMs > 0 && !sizes.includes(soakAt)) throw new Error(`--soak-at must be one of --sizes, got ${soakAt}`);
  if (!(soakBucketMs > 0)) throw new Error('--soak-bucket-minutes must be positive');
  const runtime: OperatorRuntime = {
    nodeFlags: values['node-flags']?.split(/\s+/).filter(Boolean) ?? imageNodeFlags(),
    env: Object.fromEntries(
      values['operator-env'].map((entry) => {
        const at = entry.indexOf('=');
        if (at <= 0) throw new Error(`--operator-env takes NAME=VALUE, got ${entry}`);
        return [entry.slice(0, at), entry.slice(at + 1)];
      }),
    ),
  };

  if (!values['skip-build']) {
    log('building dist/ (scripts/build.sh, as npm run build)');
    await run('sh', [repoPath('scripts/build.sh')]);
  }
  const workDir = await createTemporaryWorkDir('zkop-footprint-');
  const auditLog = join(workDir.path, 'audit.log');
  await writeFile(join(workDir.path, 'audit-policy.yaml'), AUDIT_POLICY);
  const floorMiB = await nodeFloorMiB(workDir.path);
  log(`bare node RSS ${floorMiB} MiB`);
  const plane = await startControlPlane({
    log,
    apiserverArgs: [
      `--audit-policy-file=${join(workDir.path, 'audit-policy.yaml')}`,
      `--audit-log-path=${auditLog}`,
      '--audit-log-format=json',
      // Each cluster's client Service takes a ClusterIP: the harness's /24 runs out at 254 clusters.
      `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
    ],
  });
  let operator: Operator | undefined;
  try {
    const kubeconfig = await operatorKubeconfig(plane);
    await plane.kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: NAMESPACE } } });
    operator = await startOperator(workDir.path, kubeconfig, 1, runtime);
    const idle = await sampleProcess(operator.process.pid);
    log(`operator running, pid ${operator.process.pid}, RSS with no cluster ${mib(idle.rssKiB)} MiB`);

    const windows: Window[] = [];
    const soaks: Soak[] = [];
    const observeSeconds: Record<number, number> = {};
    let created = 0;
    for (const size of sizes) {
      const started = Date.now();
      await createClusters(plane, created, size, replicas, batch);
      log(`created clusters ${created + 1}..${size} in ${seconds(Date.now() - started)} s`);
      created = size;
      await waitUntilObserved(plane, size, operator);
      observeSeconds[size] = seconds(Date.now() - started);
      const settled = await waitUntilSettled(auditLog);
      log(`${size} clusters observed after ${observeSeconds[size]} s; ${settled ? 'settled' : 'still writing'}`);
      const window = await measureWindow(operator, auditLog, size, settled, sampleMs, intervalMs);
      log(`${size}: ${JSON.stringify({ ...window, samples: window.samples.length })}`);
      windows.push(window);
      if (size === soakAt && soakMs > 0) {
        log(`soak started: ${size} clusters, ${soakMs / 60_000} min in buckets of ${soakBucketMs / 60_000} min`);
        const buckets = await soak(operator, auditLog, size, settled, soakMs, soakBucketMs, intervalMs);
        soaks.push({ clusters: size, buckets });
      }
    }

    await operator.process.stop();
    await clearStatuses(plane, created, batch);
    await pollUntil(
      'every status cleared',
      async () => ((await countObserved(plane)).observed === 0 ? true : undefined),
      { timeoutMs: 60_000, intervalMs: 1_000 },
    );
    const writesBefore = (await operatorWrites(auditLog)).length;
    const spawnedMs = Date.now();
    operator = await startOperator(workDir.path, kubeconfig, 2, runtime);
    const startedSeconds = seconds(Date.now() - spawnedMs);
    await waitUntilObserved(plane, created, operator);
    const observedSample = await sampleProcess(operator.process.pid);
    const coldStart: ColdStart = {
      clusters: created,
      startedSeconds,
      observedSeconds: seconds(observedSample.atMs - spawnedMs),
      rssAtObservedMiB: mib(observedSample.rssKiB),
      hwmAtObservedMiB: mib(observedSample.hwmKiB),
      cpuSeconds: Math.round((observedSample.cpuTicks / CLOCK_TICKS_PER_SECOND) * 10) / 10,
      apiWrites: (await operatorWrites(auditLog)).length - writesBefore,
    };
    log(`cold start: ${JSON.stringify(coldStart)}`);

    const result = {
      machine: { cpus: (await run('nproc')).stdout.trim(), node: process.version, replicas },
      runtime,
      floorMiB,
      idleRssMiB: mib(idle.rssKiB),
      observeSeconds,
      windows,
      soaks,
      coldStart,
    };
    await writeFile(values.out, `${JSON.stringify(result, null, 2)}\n`);
    console.log(summary(result));
  } finally {
    await operator?.process.stop();
    await plane.stop();
    await workDir.remove();
  }
}

function summary(result: {
  runtime: OperatorRuntime;
  floorMiB: number;
  idleRssMiB: number;
  observeSeconds: Record<number, number>;
  windows: Window[];
  soaks: Soak[];
  coldStart: ColdStart;
}): string {
  const base = result.windows[0]?.rssMiB.max ?? Number.NaN;
  const ratio = (value: number, of: number) => (value / of).toFixed(2);
  const env = Object.entries(result.runtime.env).map(([name, value]) => `${name}=${value} `);
  const lines = [
    `Operator: \`${env.join('')}node ${[...result.runtime.nodeFlags, 'dist/main.js'].join(' ')}\`.`,
    '',
    `Bare \`node -e\` RSS (floor): ${result.floorMiB} MiB; operator with no cluster: ${result.idleRssMiB} MiB (${ratio(result.idleRssMiB, result.floorMiB)} × floor).`,
    '',
    '| clusters | create → all observed | window | settled | RSS first / last / max (MiB) | max RSS ÷ 1-cluster max | max RSS ÷ floor | VmHWM | heap used first / last | heap total (new space) first / last | CPU (cores) | reconciles/min | API writes/min | "updated" lines |',
    '|---:|---:|---:|:-:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...result.windows.map(
      (w) =>
        `| ${w.clusters} | ${result.observeSeconds[w.clusters]} s | ${w.seconds} s | ${w.settled ? 'yes' : 'no'} | ${w.rssMiB.first} / ${w.rssMiB.last} / ${w.rssMiB.max} | ${ratio(w.rssMiB.max, base)} | ${ratio(w.rssMiB.max, result.floorMiB)} | ${w.hwmMiB} | ${w.heapUsedMiB.first} / ${w.heapUsedMiB.last} | ${w.heapTotalMiB.first} (${w.newSpaceMiB.first}) / ${w.heapTotalMiB.last} (${w.newSpaceMiB.last}) | ${w.cpuCores} | ${w.reconcilesPerMinute} | ${w.apiWritesPerMinute} | ${w.reappliesInWindow} |`,
    ),
    ...result.soaks.flatMap((soak) => soakSummary(soak)),
    '',
    `Cold start with ${result.coldStart.clusters} clusters (statuses cleared while stopped): caches synced after ${result.coldStart.startedSeconds} s, all observed after ${result.coldStart.observedSeconds} s (${result.coldStart.cpuSeconds} CPU seconds), ${result.coldStart.apiWrites} API writes, RSS then ${result.coldStart.rssAtObservedMiB} MiB (VmHWM ${result.coldStart.hwmAtObservedMiB}).`,
  ];
  return lines.join('\n');
}

await main();

/** One row a bucket, then the drift: the last bucket against the first. */
function soakSummary({ clusters, buckets }: Soak): string[] {
  const first = buckets[0];
  const last = buckets.at(-1);
  if (first === undefined || last === undefined) return [];
  let minutes = 0;
  const rows = buckets.map((bucket) => {
    const from = minutes;
    minutes += bucket.seconds / 60;
    return `| ${Math.round(from)}-${Math.round(minutes)} | ${bucket.rssMiB.min} / ${bucket.rssMiB.max} | ${bucket.heapUsedMiB.first} / ${bucket.heapUsedMiB.last} | ${bucket.cpuCores} | ${bucket.reconcilesPerMinute} | ${bucket.apiWritesPerMinute} | ${bucket.reappliesInWindow} |`;
  });
  const drift = (to: number, from: number) => `${to >= from ? '+' : ''}${Math.round((to - from) * 10) / 10}`;
  return [
    '',
    `Soak at ${clusters} clusters, ${Math.round(minutes)} min after settling:`,
    '',
    '| minutes | RSS min / max (MiB) | heap used first / last (MiB) | CPU (cores) | reconciles/min | API writes/min | "updated" lines |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `Drift, last bucket against the first: RSS max ${drift(last.rssMiB.max, first.rssMiB.max)} MiB, RSS min ${drift(last.rssMiB.min, first.rssMiB.min)} MiB, heap used at the end ${drift(last.heapUsedMiB.last, first.heapUsedMiB.last)} MiB.`,
  ];
}
