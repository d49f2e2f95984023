/**
 * The process kubelet against the real local control plane: it registers three nodes in three
 * zones, runs what kube-scheduler binds to them (a taint keeps pods that do not tolerate it off
 * its node), refuses what it cannot run with a clear reason, and runs a hand-written
 * three-member ZooKeeper StatefulSet (following docs/design/pod-contract.md, one member per
 * node) as real processes in their own network namespaces that form a quorum across nodes, turn
 * Ready through their readiness probe, survive a pod being re-created with their data, and
 * disappear with their namespace. A pod of the local operator image gets what in-cluster
 * clients rely on: the image's user, a token at the standard path, and the API. ConfigMap and
 * Secret volumes have a real kubelet's layout and follow their objects through a `..data` swap.
 */
import { existsSync } from 'node:fs';
import { readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  type CoreV1Event,
  PatchStrategy,
  setHeaderOptions,
  type V1Container,
  type V1ContainerStatus,
  type V1Pod,
  type V1StatefulSet,
  type V1Toleration,
} from '@kubernetes/client-node';
import test from 'ava';
import { askFourLetterWord } from '../../src/zookeeper/four-letter-word.js';
import { type ControlPlane, startControlPlane } from '../harness/controlplane.js';
import { runCommand } from '../harness/kubelet/command.js';
import { type Kubelet, startKubelet } from '../harness/kubelet/index.js';
import { mergePatch } from '../harness/kubelet/kube.js';
import { sweepLeftoversBeforeStart } from '../harness/leftovers.js';
import { createTemporaryWorkDir, type WorkDir } from '../harness/work-dir.js';
import { assertUnschedulable } from '../support/pods.js';

const STS = 'zk';
const HEADLESS = `${STS}-headless`;
const MEMBERS = 3;

let plane: ControlPlane;
let kubelet: Kubelet;
let kubeletDir: WorkDir;
let core: CoreV1Api;
let apps: AppsV1Api;

test.before(async (t) => {
  await sweepLeftoversBeforeStart((line) => t.log(line));
  plane = await startControlPlane({ crdDirectory: null });
  // With an owner file, so that the next sweep removes it if this process is killed; no reaper,
  // as in environment.ts: after a SIGKILL the pods run on and still use it.
  kubeletDir = await createTemporaryWorkDir('zkop-kubelet-', { removeWhenThreadDies: false });
  kubelet = await startKubelet({ kubeConfig: plane.kubeConfig, workDir: kubeletDir.path });
  core = plane.kubeConfig.makeApiClient(CoreV1Api);
  apps = plane.kubeConfig.makeApiClient(AppsV1Api);
});

test.after.always(async () => {
  await kubelet?.stop();
  await plane?.stop();
  await kubeletDir?.remove();
});

/** Polls `read` every 500 ms until it returns a value; fails with `what` and the last observation. */
async function waitFor<T>(what: string, timeoutMs: number, read: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await read();
      if (value !== undefined) return value;
      last = 'not yet';
    } catch (error) {
      last = error instanceof Error ? error.message : error;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)}`);
}

async function createNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${Date.now().toString(36)}`;
  await core.createNamespace({ body: { metadata: { name } } });
  return name;
}

function modeOf(srvr: string): string | undefined {
  return /^Mode: (\S+)$/m.exec(srvr)?.[1];
}

function isReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** `process://<netns>/<pid>` of the pod's first container. */
function containerProcess(pod: V1Pod): { netns: string; pid: number } {
  const id = pod.status?.containerStatuses?.[0]?.containerID ?? '';
  const match = /^process:\/\/([^/]+)\/(\d+)$/.exec(id);
  if (!match?.[1] || !match[2]) throw new Error(`pod ${pod.metadata?.name} has no process container id: "${id}"`);
  return { netns: match[1], pid: Number(match[2]) };
}

async function netnsList(): Promise<string[]> {
  const { stdout } = await runCommand('ip', ['netns', 'list']);
  return stdout.split('\n').map((line) => line.split(' ')[0] ?? '');
}

async function eventsOf(namespace: string, podName: string): Promise<CoreV1Event[]> {
  const events = await core.listNamespacedEvent({ namespace });
  return events.items.filter((e) => e.involvedObject.name === podName);
}

async function waitingReason(namespace: string, name: string): Promise<string | undefined> {
  const pod = await core.readNamespacedPod({ name, namespace });
  return pod.status?.containerStatuses?.[0]?.state?.waiting?.reason;
}

test('three nodes are registered Ready, one per zone, with the bridge address as InternalIP and a Lease each', async (t) => {
  t.is(kubelet.nodeNames.length, 3);
  const coordination = plane.kubeConfig.makeApiClient(CoordinationV1Api);
  const zones: string[] = [];
  const internalIPs = new Set<string>();
  for (const name of kubelet.nodeNames) {
    const node = await core.readNode({ name });
    const labels = node.metadata?.labels ?? {};
    t.is(labels['kubernetes.io/hostname'], name);
    t.is(labels['topology.kubernetes.io/region'], 'local');
    zones.push(labels['topology.kubernetes.io/zone'] ?? '');
    t.is(node.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
    t.deepEqual(node.spec?.taints ?? [], []);
    const internalIP = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '';
    t.regex(internalIP, /^10\.(1[2-9][0-9])\.\d+\.1$/);
    internalIPs.add(internalIP);
    const lease = await coordination.readNamespacedLease({ name, namespace: 'kube-node-lease' });
    t.is(lease.spec?.holderIdentity, name);
  }
  t.deepEqual(zones, ['zone-a', 'zone-b', 'zone-c']);
  t.is(internalIPs.size, 1, 'the nodes share one bridge');
});

test('a pod without a ZooKeeper image is scheduled but waits, saying why', async (t) => {
  const namespace = await createNamespace('kubelet-unsupported');
  await core.createNamespacedPod({
    namespace,
    body: { metadata: { name: 'busybox' }, spec: { containers: [{ name: 'main', image: 'busybox:1.36' }] } },
  });
  const reason = await waitFor('busybox to wait as unsupported', 30_000, async () => {
    const current = await waitingReason(namespace, 'busybox');
    return current === 'UnsupportedByProcessKubelet' ? current : undefined;
  });
  t.is(reason, 'UnsupportedByProcessKubelet');
  const pod = await core.readNamespacedPod({ name: 'busybox', namespace });
  t.true(kubelet.nodeNames.includes(pod.spec?.nodeName ?? ''), `scheduled to ${pod.spec?.nodeName}`);
  t.is(pod.status?.phase, 'Pending');
  const events = await waitFor('an UnsupportedByProcessKubelet event', 10_000, async () => {
    const found = (await eventsOf(namespace, 'busybox')).filter((e) => e.reason === 'UnsupportedByProcessKubelet');
    return found.length > 0 ? found : undefined;
  });
  t.regex(events[0]?.message ?? '', /busybox:1\.36/);
  await core.deleteNamespace({ name: namespace });
});

test('a pod of the local operator image runs as uid 1000 with a bound token and reaches the API server', async (t) => {
  const namespace = await createNamespace('kubelet-api-access');
  const tokenDir = '/var/run/secrets/kubernetes.io/serviceaccount';
  // The image's own command is replaced by a check of what the operator relies on: who it runs
  // as, the token files, and an authenticated request through KUBERNETES_SERVICE_HOST/PORT.
  const check = [
    'set -eu',
    'test "$(id -u)" = 1000',
    `test "$(cat ${tokenDir}/namespace)" = "${namespace}"`,
    `curl -sS --fail --cacert ${tokenDir}/ca.crt -H "Authorization: Bearer $(cat ${tokenDir}/token)" \\`,
    '  -H "Content-Type: application/json" -X POST -d \'{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}\' \\',
    '  "https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/apis/authentication.k8s.io/v1/selfsubjectreviews" \\',
    `  | grep -q '"username": *"system:serviceaccount:${namespace}:default"'`,
  ].join('\n');
  await waitFor('the default ServiceAccount', 30_000, async () =>
    core.readNamespacedServiceAccount({ name: 'default', namespace }).catch(() => undefined),
  );
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name: 'operator-check' },
      spec: {
        restartPolicy: 'Never',
        serviceAccountName: 'default',
        containers: [{ name: 'main', image: 'zookeeper-operator:dev', command: ['bash', '-c', check] }],
      },
    },
  });
  const pod = await waitFor('the check to finish', 60_000, async () => {
    const current = await core.readNamespacedPod({ name: 'operator-check', namespace });
    if (current.status?.phase === 'Succeeded' || current.status?.phase === 'Failed') return current;
    throw new Error(`${current.status?.phase}: ${JSON.stringify(current.status?.containerStatuses?.[0])}`);
  });
  t.is(pod.status?.phase, 'Succeeded', JSON.stringify(pod.status?.containerStatuses?.[0]?.state));
  t.is(pod.status?.containerStatuses?.[0]?.imageID, 'process-kubelet://zookeeper-operator-local');
  t.false(existsSync('/run/secrets/kubernetes.io'), 'the token mount stays inside the pod');
  await core.deleteNamespace({ name: namespace });
});

test('a ZooKeeper image with an unknown tag waits in image pull back-off', async (t) => {
  const namespace = await createNamespace('kubelet-badtag');
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name: 'zk-old' },
      spec: { containers: [{ name: 'zookeeper', image: 'docker.io/library/zookeeper:3.4.14', command: ['true'] }] },
    },
  });
  const reason = await waitFor('ImagePullBackOff on zk-old', 30_000, async () => {
    const current = await waitingReason(namespace, 'zk-old');
    return current === 'ImagePullBackOff' ? current : undefined;
  });
  t.is(reason, 'ImagePullBackOff');
  const failed = (await eventsOf(namespace, 'zk-old')).find((e) => e.reason === 'Failed');
  t.regex(failed?.message ?? '', /3\.4\.14/);
  await core.deleteNamespace({ name: namespace });
});

/** A pod that runs a plain command with the ZooKeeper image (the image only picks the distribution). */
function commandPod(name: string, command: string, probes: Partial<V1Container> = {}): V1Pod {
  return {
    metadata: { name },
    spec: {
      terminationGracePeriodSeconds: 2,
      containers: [{ name: 'main', image: 'zookeeper:3.9.4', command: ['/bin/bash', '-c', command], ...probes }],
    },
  };
}

async function containerStatus(namespace: string, name: string): Promise<V1ContainerStatus | undefined> {
  const pod = await core.readNamespacedPod({ name, namespace });
  return pod.status?.containerStatuses?.[0];
}

test('a crashing container is restarted with back-off and reports its last exit code', async (t) => {
  const namespace = await createNamespace('kubelet-crash');
  await core.createNamespacedPod({ namespace, body: commandPod('crash', 'echo failing; exit 3') });
  const status = await waitFor('CrashLoopBackOff after a restart', 30_000, async () => {
    const current = await containerStatus(namespace, 'crash');
    const waiting = current?.state?.waiting?.reason;
    return waiting === 'CrashLoopBackOff' && (current?.restartCount ?? 0) >= 1 ? current : undefined;
  });
  t.is(status.lastState?.terminated?.exitCode, 3);
  t.is(status.lastState?.terminated?.reason, 'Error');
  t.false(status.ready);
  const backOff = (await eventsOf(namespace, 'crash')).find((e) => e.reason === 'BackOff');
  t.regex(backOff?.message ?? '', /failing/, 'the BackOff event carries the log tail');
  await core.deleteNamespace({ name: namespace });
});

test('a failing liveness probe kills and restarts the container', async (t) => {
  const namespace = await createNamespace('kubelet-liveness');
  const liveness = { exec: { command: ['/bin/false'] }, periodSeconds: 1, failureThreshold: 2 };
  await core.createNamespacedPod({
    namespace,
    body: commandPod('unhealthy', 'exec sleep 600', { livenessProbe: liveness }),
  });
  const status = await waitFor('a restart after liveness failures', 30_000, async () => {
    const current = await containerStatus(namespace, 'unhealthy');
    return (current?.restartCount ?? 0) >= 1 ? current : undefined;
  });
  t.is(status.lastState?.terminated?.exitCode, 143, 'SIGTERM ended the process');
  const events = await eventsOf(namespace, 'unhealthy');
  t.true(events.some((e) => e.reason === 'Unhealthy' && /Liveness probe failed/.test(e.message ?? '')));
  t.true(events.some((e) => e.reason === 'Killing' && /failed liveness probe/.test(e.message ?? '')));
  await core.deleteNamespace({ name: namespace });
});

test('tcpSocket and httpGet probes reach a server in the pod through the pod IP', async (t) => {
  const namespace = await createNamespace('kubelet-httpget');
  const probes = {
    ports: [{ name: 'http', containerPort: 8080 }],
    readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 1 },
    livenessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
  };
  await core.createNamespacedPod({
    namespace,
    body: commandPod('web', 'cd "$(mktemp -d)" && exec python3 -m http.server 8080', probes),
  });
  const pod = await waitFor('web to be Ready', 30_000, async () => {
    const current = await core.readNamespacedPod({ name: 'web', namespace });
    return isReady(current) ? current : undefined;
  });
  t.is(pod.status?.containerStatuses?.[0]?.restartCount, 0);
  t.is(pod.status?.phase, 'Running');
  await core.deleteNamespace({ name: namespace });
});

test('env values under a mountPath point at the volume, and a ConfigMap volume follows its ConfigMap', async (t) => {
  const namespace = await createNamespace('kubelet-volumes');
  await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'settings' }, data: { mode: 'one' } } });
  const pod = commandPod('reader', 'echo "$SETTINGS_DIR" > "$SCRATCH_DIR/seen" && exec sleep 600');
  const container = pod.spec?.containers[0];
  if (!container || !pod.spec) throw new Error('commandPod has no container');
  container.env = [
    { name: 'SETTINGS_DIR', value: '/settings' },
    { name: 'SCRATCH_DIR', value: '/scratch' },
  ];
  container.volumeMounts = [
    { name: 'settings', mountPath: '/settings' },
    { name: 'scratch', mountPath: '/scratch' },
  ];
  pod.spec.volumes = [
    { name: 'settings', configMap: { name: 'settings' } },
    { name: 'scratch', emptyDir: {} },
  ];
  await core.createNamespacedPod({ namespace, body: pod });
  const running = await waitFor('reader to run', 30_000, async () => {
    const current = await core.readNamespacedPod({ name: 'reader', namespace });
    return current.status?.containerStatuses?.[0]?.state?.running ? current : undefined;
  });
  const volumes = join(kubeletDir.path, 'pods', containerProcess(running).netns, 'volumes');
  const seen = await waitFor('the env value mapped to the volume', 10_000, () =>
    readFile(join(volumes, 'scratch', 'seen'), 'utf8'),
  );
  t.is(seen.trim(), join(volumes, 'settings'), 'the env value starting with the mountPath points at the volume');
  t.is(await readFile(join(volumes, 'settings', 'mode'), 'utf8'), 'one');

  await core.patchNamespacedConfigMap(
    { name: 'settings', namespace, body: { data: { mode: 'two' } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  const updated = await waitFor('the volume to show the new ConfigMap data', 10_000, async () => {
    const mode = await readFile(join(volumes, 'settings', 'mode'), 'utf8');
    return mode === 'two' ? mode : undefined;
  });
  t.is(updated, 'two');
  await core.deleteNamespace({ name: namespace });
});

test('a Secret volume has the AtomicWriter layout and an update reaches the running container through a ..data swap', async (t) => {
  const namespace = await createNamespace('kubelet-secret');
  const encode = (value: string) => Buffer.from(value).toString('base64');
  await core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: 'tls' }, data: { password: encode('one') } },
  });
  // The container keeps copying what it reads, so the file it sees is observable from outside.
  const pod = commandPod(
    'copier',
    'while :; do cat "$SECRET_DIR/password" > "$SCRATCH_DIR/seen.new" && mv "$SCRATCH_DIR/seen.new" "$SCRATCH_DIR/seen"; sleep 0.2; done',
  );
  const container = pod.spec?.containers[0];
  if (!container || !pod.spec) throw new Error('commandPod has no container');
  // Non-root with mode 0440: only the fsGroup's read access lets the container read the key.
  pod.spec.securityContext = { runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 };
  container.env = [
    { name: 'SECRET_DIR', value: '/secret' },
    { name: 'SCRATCH_DIR', value: '/scratch' },
  ];
  container.volumeMounts = [
    { name: 'secret', mountPath: '/secret', readOnly: true },
    { name: 'scratch', mountPath: '/scratch' },
  ];
  pod.spec.volumes = [
    { name: 'secret', secret: { secretName: 'tls', defaultMode: 0o440 } },
    { name: 'scratch', emptyDir: {} },
  ];
  await core.createNamespacedPod({ namespace, body: pod });
  const running = await waitFor('copier to run', 30_000, async () => {
    const current = await core.readNamespacedPod({ name: 'copier', namespace });
    return current.status?.containerStatuses?.[0]?.state?.running ? current : undefined;
  });
  const volumes = join(kubeletDir.path, 'pods', containerProcess(running).netns, 'volumes');
  const seen = (expected: string) => async () => {
    const content = await readFile(join(volumes, 'scratch', 'seen'), 'utf8');
    return content === expected ? content : undefined;
  };
  t.is(await waitFor('the container to read the Secret', 10_000, seen('one')), 'one');
  const secretDir = join(volumes, 'secret');
  t.is(await readlink(join(secretDir, 'password')), '..data/password');
  const before = await readlink(join(secretDir, '..data'));
  t.regex(before, /^\.\.\d{4}(_\d{2}){5}\./, 'a timestamped data directory');
  const key = await stat(join(secretDir, 'password'));
  t.is(key.mode & 0o7777, 0o440, 'defaultMode');
  t.is(key.gid, 1000, 'the fsGroup owns the key');

  await core.patchNamespacedSecret({ name: 'tls', namespace, body: { data: { password: encode('two') } } }, mergePatch);
  t.is(await waitFor('the container to read the updated Secret', 10_000, seen('two')), 'two');
  const after = await readlink(join(secretDir, '..data'));
  t.not(after, before, '..data points at a new directory');
  t.false(existsSync(join(secretDir, before)), 'the old data directory is removed');
  const status = await containerStatus(namespace, 'copier');
  t.is(status?.containerID, running.status?.containerStatuses?.[0]?.containerID, 'the same process');
  t.is(status?.restartCount, 0);
  await core.deleteNamespace({ name: namespace });
});

const ZOO_CFG = `tickTime=2000
initLimit=10
syncLimit=5
standaloneEnabled=false
reconfigEnabled=true
quorumListenOnAllIPs=true
4lw.commands.whitelist=srvr,stat,mntr,ruok,conf,isro
admin.enableServer=true
admin.serverPort=8080
`;

/** Minimal start.sh per the pod contract (the renderer's real one replaces it later). */
const START_SH = `set -euo pipefail
pod=\${ZK_POD_NAME:-$(hostname)}
myid=$(( \${pod##*-} + 1 ))
if [[ -f $ZK_DATA_DIR/myid && $(cat "$ZK_DATA_DIR/myid") != "$myid" ]]; then
  echo "data dir belongs to server $(cat "$ZK_DATA_DIR/myid"), not $myid" >&2
  exit 1
fi
if [[ ! -f $ZK_DATA_DIR/myid ]]; then
  [[ $(cat "$ZK_CONFIG_SOURCE/bootstrap") == true ]] && touch "$ZK_DATA_DIR/initialize"
  echo "$myid" > "$ZK_DATA_DIR/myid"
fi
{ cat "$ZK_CONFIG_SOURCE/zoo.cfg"; echo "dataDir=$ZK_DATA_DIR"; echo "dynamicConfigFile=$ZOOCFGDIR/zoo.cfg.dynamic"; } > "$ZOOCFGDIR/zoo.cfg"
cp "$ZK_CONFIG_SOURCE/zoo.cfg.dynamic" "$ZOOCFGDIR/zoo.cfg.dynamic"
exec zkServer.sh start-foreground "$ZOOCFGDIR/zoo.cfg"
`;

/** Minimal probe.sh per the pod contract: live = ruok answers imok; ready = srvr shows a quorum role. */
const PROBE_SH = `ask() { exec 3<>"/dev/tcp/127.0.0.1/$ZK_CLIENT_PORT" || return 1; printf %s "$1" >&3; cat <&3; }
case $1 in
  live) [[ $(ask ruok) == imok ]] ;;
  ready) ask srvr | grep -Eq '^Mode: (leader|follower|observer)$' ;;
  *) exit 2 ;;
esac
`;

function zooCfgDynamic(namespace: string): string {
  return Array.from(
    { length: MEMBERS },
    (_, i) =>
      `server.${i + 1}=${STS}-${i}.${HEADLESS}.${namespace}.svc.cluster.local:2888:3888:participant;0.0.0.0:2181`,
  ).join('\n');
}

function statefulSet(): V1StatefulSet {
  const labels = { app: STS };
  const probe = (mode: string, periodSeconds: number, failureThreshold: number) => ({
    exec: { command: ['/bin/bash', '/config/probe.sh', mode] },
    periodSeconds,
    timeoutSeconds: 5,
    failureThreshold,
  });
  return {
    metadata: { name: STS },
    spec: {
      replicas: MEMBERS,
      serviceName: HEADLESS,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          terminationGracePeriodSeconds: 10,
          // One member per node, so the quorum is formed across nodes.
          affinity: {
            podAntiAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: [
                { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: labels } },
              ],
            },
          },
          securityContext: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 },
          containers: [
            {
              name: 'zookeeper',
              image: 'zookeeper:3.9.4',
              command: ['/bin/bash', '/config/start.sh'],
              env: [
                { name: 'ZK_CONFIG_SOURCE', value: '/config' },
                { name: 'ZOOCFGDIR', value: '/conf' },
                { name: 'ZK_DATA_DIR', value: '/data' },
                { name: 'ZOO_LOG_DIR', value: '/logs' },
                { name: 'ZK_CLIENT_PORT', value: '2181' },
                { name: 'ZK_SERVER_HEAP', value: '256' },
                {
                  // sun.net.inetaddr.ttl: the JVM caches a resolved name for 30 s, so without it
                  // the peers of a re-created member learn its new pod IP only then (measured:
                  // 30 s instead of 6 s to rejoin).
                  name: 'SERVER_JVMFLAGS',
                  value: '-Dzookeeper.electionPortBindRetry=0 -Dzookeeper.db.autocreate=false -Dsun.net.inetaddr.ttl=1',
                },
                { name: 'ZK_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              ],
              ports: [
                { name: 'client', containerPort: 2181 },
                { name: 'quorum', containerPort: 2888 },
                { name: 'election', containerPort: 3888 },
                { name: 'admin', containerPort: 8080 },
              ],
              startupProbe: probe('live', 1, 60),
              livenessProbe: probe('live', 10, 3),
              readinessProbe: probe('ready', 1, 3),
              volumeMounts: [
                { name: 'config', mountPath: '/config', readOnly: true },
                { name: 'conf', mountPath: '/conf' },
                { name: 'data', mountPath: '/data' },
                { name: 'logs', mountPath: '/logs' },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            { name: 'config', configMap: { name: `${STS}-config` } },
            { name: 'conf', emptyDir: {} },
            { name: 'logs', emptyDir: {} },
            { name: 'tmp', emptyDir: {} },
          ],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: 'data' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        },
      ],
    },
  };
}

async function memberPods(namespace: string): Promise<V1Pod[]> {
  const pods = await core.listNamespacedPod({ namespace, labelSelector: `app=${STS}` });
  return pods.items.sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
}

/** The srvr Mode of every member, read from its pod IP over the bridge. */
async function modes(pods: readonly V1Pod[]): Promise<string[]> {
  return Promise.all(
    pods.map(async (pod) => modeOf(await askFourLetterWord(pod.status?.podIP ?? '', 2181, 'srvr')) ?? 'none'),
  );
}

async function waitForQuorum(namespace: string, timeoutMs: number): Promise<V1Pod[]> {
  return waitFor(`${MEMBERS} Ready members with one leader in ${namespace}`, timeoutMs, async () => {
    const pods = await memberPods(namespace);
    if (pods.length !== MEMBERS || !pods.every(isReady)) return undefined;
    const roles = (await modes(pods)).sort();
    return roles.join(',') === 'follower,follower,leader' ? pods : undefined;
  });
}

async function claimDirectory(namespace: string, member: number): Promise<string> {
  const claim = await core.readNamespacedPersistentVolumeClaim({ name: `data-${STS}-${member}`, namespace });
  const volume = await core.readPersistentVolume({ name: claim.spec?.volumeName ?? '' });
  return volume.spec?.hostPath?.path ?? '';
}

let ensembleNamespace = '';

test.serial('three StatefulSet pods on three nodes run ZooKeeper processes that form a quorum', async (t) => {
  t.timeout(240_000);
  ensembleNamespace = await createNamespace('kubelet-zk');
  const namespace = ensembleNamespace;
  await core.createNamespacedConfigMap({
    namespace,
    body: {
      metadata: { name: `${STS}-config` },
      data: {
        'zoo.cfg': ZOO_CFG,
        'zoo.cfg.dynamic': zooCfgDynamic(namespace),
        'start.sh': START_SH,
        'probe.sh': PROBE_SH,
        bootstrap: 'true',
      },
    },
  });
  await core.createNamespacedService({
    namespace,
    body: {
      metadata: { name: HEADLESS },
      spec: {
        clusterIP: 'None',
        publishNotReadyAddresses: true,
        selector: { app: STS },
        ports: [
          { name: 'client', port: 2181 },
          { name: 'quorum', port: 2888 },
          { name: 'election', port: 3888 },
        ],
      },
    },
  });
  const started = Date.now();
  await apps.createNamespacedStatefulSet({ namespace, body: statefulSet() });

  const pods = await waitForQuorum(namespace, 180_000);
  const seconds = (Date.now() - started) / 1000;
  t.log(`${MEMBERS} members Ready with a leader ${seconds.toFixed(1)} s after the StatefulSet was created`);

  const roles = await modes(pods);
  t.is(roles.filter((role) => role === 'leader').length, 1);
  t.is(roles.filter((role) => role === 'follower').length, 2);
  const ips = new Set(pods.map((pod) => pod.status?.podIP));
  t.is(ips.size, MEMBERS, 'every pod has its own address');
  t.deepEqual(pods.map((pod) => pod.spec?.nodeName).sort(), [...kubelet.nodeNames].sort(), 'one member per node');
  for (const pod of pods) {
    const { netns, pid } = containerProcess(pod);
    t.true(existsSync(`/proc/${pid}`), `the process of ${pod.metadata?.name} runs`);
    const hosts = await readFile(`/etc/netns/${netns}/hosts`, 'utf8');
    t.regex(hosts, new RegExp(`${STS}-2\\.${HEADLESS}\\.${namespace}\\.svc\\.cluster\\.local`));
    t.regex(await readFile(`/proc/${pid}/status`, 'utf8'), /^Uid:\s+1000\s/m, 'it runs as runAsUser');
    const { stdout: hostname } = await runCommand('nsenter', ['--target', String(pid), '--uts', 'hostname']);
    t.is(hostname.trim(), pod.metadata?.name ?? '');
  }
  const status = pods[0]?.status;
  t.is(status?.phase, 'Running');
  const node = await core.readNode({ name: pods[0]?.spec?.nodeName ?? '' });
  t.is(status?.hostIP, node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address);
  t.deepEqual(
    status?.podIPs?.map((podIP) => podIP.ip),
    [status?.podIP],
  );
  const conditions = Object.fromEntries((status?.conditions ?? []).map((c) => [c.type, c.status]));
  t.like(conditions, { PodScheduled: 'True', Initialized: 'True', ContainersReady: 'True', Ready: 'True' });
  t.like(status?.containerStatuses?.[0], { ready: true, started: true, restartCount: 0 });
  t.truthy(status?.containerStatuses?.[0]?.state?.running?.startedAt);
  t.is((await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8')).trim(), '0', 'IP forwarding stays off');
  const statefulSetStatus = await apps.readNamespacedStatefulSetStatus({ name: STS, namespace });
  t.is(statefulSetStatus.status?.readyReplicas, MEMBERS);
});

test.serial('a deleted member comes back as a new pod on the same data directory and rejoins', async (t) => {
  t.timeout(180_000);
  const namespace = ensembleNamespace;
  t.truthy(namespace, 'the ensemble test ran first');
  const [, before] = await memberPods(namespace);
  if (!before) throw new Error('no zk-1');
  const dataDir = await claimDirectory(namespace, 1);
  await writeFile(join(dataDir, 'written-before-restart'), 'kept\n');
  const old = containerProcess(before);

  const started = Date.now();
  await core.deleteNamespacedPod({ name: `${STS}-1`, namespace });
  await waitFor(`a new ${STS}-1`, 60_000, async () => {
    const current = await core.readNamespacedPod({ name: `${STS}-1`, namespace });
    return current.metadata?.uid !== before.metadata?.uid ? current : undefined;
  });
  const pods = await waitForQuorum(namespace, 150_000);
  t.log(`zk-1 back and the ensemble whole ${((Date.now() - started) / 1000).toFixed(1)} s after the delete`);

  const after = pods[1];
  t.not(after?.metadata?.uid, before.metadata?.uid);
  t.false(existsSync(`/proc/${old.pid}`), 'the old process is gone');
  t.false((await netnsList()).includes(old.netns), 'the old network namespace is gone');
  t.is(await claimDirectory(namespace, 1), dataDir);
  t.is(await readFile(join(dataDir, 'written-before-restart'), 'utf8'), 'kept\n');
  t.is((await readFile(join(dataDir, 'myid'), 'utf8')).trim(), '2');
});

test.serial('deleting the namespace stops every process and removes its network namespaces and volumes', async (t) => {
  t.timeout(120_000);
  const namespace = ensembleNamespace;
  t.truthy(namespace, 'the ensemble test ran first');
  const pods = await memberPods(namespace);
  const processes = pods.map(containerProcess);
  const dataDirs = await Promise.all(pods.map((_, member) => claimDirectory(namespace, member)));

  await core.deleteNamespace({ name: namespace });
  await waitFor(`namespace ${namespace} to be gone`, 90_000, async () => {
    try {
      await core.readNamespace({ name: namespace });
      return undefined;
    } catch (error) {
      if ((error as { code?: number }).code === 404) return true;
      throw error;
    }
  });

  for (const { pid } of processes) t.false(existsSync(`/proc/${pid}`), `process ${pid} is gone`);
  const namespaces = await netnsList();
  for (const { netns } of processes) t.false(namespaces.includes(netns), `netns ${netns} is gone`);
  await waitFor('the data directories to be removed', 30_000, async () =>
    dataDirs.every((dir) => !existsSync(dir)) ? true : undefined,
  );
  t.pass();
});

test.serial(
  'a tainted node runs only the pods that tolerate its taint, and takes the others once untainted',
  async (t) => {
    t.timeout(120_000);
    const namespace = await createNamespace('kubelet-taint');
    const [, , tainted = ''] = kubelet.nodeNames;
    const taint = { key: 'zookeeper-operator.test/reserved', value: 'true', effect: 'NoSchedule' };
    await core.patchNode({ name: tainted, body: { spec: { taints: [taint] } } }, mergePatch);
    t.teardown(() => core.patchNode({ name: tainted, body: { spec: { taints: null } } }, mergePatch));
    const onTaintedNode = (name: string, tolerations: V1Toleration[]): V1Pod => {
      const pod = commandPod(name, 'exec sleep 600');
      return {
        ...pod,
        spec: {
          ...pod.spec,
          containers: pod.spec?.containers ?? [],
          nodeSelector: { 'kubernetes.io/hostname': tainted },
          tolerations,
        },
      };
    };
    await core.createNamespacedPod({ namespace, body: onTaintedNode('intolerant', []) });
    await core.createNamespacedPod({
      namespace,
      body: onTaintedNode('tolerant', [{ key: taint.key, operator: 'Equal', value: 'true', effect: 'NoSchedule' }]),
    });
    // Pods free to go anywhere: the scheduler would favour the nearly empty tainted node.
    const others = ['other-0', 'other-1', 'other-2', 'other-3'];
    for (const name of others) {
      await core.createNamespacedPod({
        namespace,
        body: { metadata: { name }, spec: { containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10' }] } },
      });
    }

    const tolerant = await waitFor('the tolerant pod to run on the tainted node', 60_000, async () => {
      const pod = await core.readNamespacedPod({ name: 'tolerant', namespace });
      return pod.status?.containerStatuses?.[0]?.state?.running ? pod : undefined;
    });
    t.is(tolerant.spec?.nodeName, tainted);
    const failed = await waitFor('FailedScheduling for the intolerant pod', 30_000, async () =>
      (await eventsOf(namespace, 'intolerant')).find((e) => e.reason === 'FailedScheduling'),
    );
    t.is(failed.reportingComponent, 'default-scheduler');
    t.regex(failed.message ?? '', /^0\/3 nodes are available: .*1 node\(s\) had untolerated taint/);
    t.log(`FailedScheduling: ${failed.message}`);
    assertUnschedulable(t, await core.readNamespacedPod({ name: 'intolerant', namespace }));
    const placed = await waitFor('the other pods to be scheduled', 30_000, async () => {
      const nodes = await Promise.all(
        others.map(async (name) => (await core.readNamespacedPod({ name, namespace })).spec?.nodeName),
      );
      return nodes.every((node) => node !== undefined) ? nodes : undefined;
    });
    t.false(placed.includes(tainted), `none on ${tainted}: ${placed.join(', ')}`);

    await core.patchNode({ name: tainted, body: { spec: { taints: null } } }, mergePatch);
    const rescheduled = await waitFor('the intolerant pod to run once the taint is gone', 60_000, async () => {
      const pod = await core.readNamespacedPod({ name: 'intolerant', namespace });
      return pod.status?.containerStatuses?.[0]?.state?.running ? pod : undefined;
    });
    t.is(rescheduled.spec?.nodeName, tainted);
    await core.deleteNamespace({ name: namespace });
  },
);
