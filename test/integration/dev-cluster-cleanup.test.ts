/**
 * `make dev-cluster` and `make run` leave nothing behind, against the real components: a dev
 * cluster started as its own process group, running real ZooKeeper JVMs in pods (plus one pod
 * that ignores SIGTERM, so the kubelet has to escalate), is stopped the way a terminal stops it
 * (SIGINT to the whole group), twice in a row (the synchronous path), through make and
 * scripts/run-operator.sh with the operator running a ZooKeeperCluster, or killed with SIGKILL
 * and swept by the next start.
 *
 * "Nothing behind" is checked against the run's own footprint, taken while it ran: every process
 * descending from the group leader or inside the run's network namespaces (by pid and start time),
 * the kubelet's `pkl-<id>` names (namespaces, links, /etc/netns dirs, mounts), its record in
 * /run/process-kubelet, and its work dirs (the `zkop-*` dirs whose owner file names the run's
 * dev-cluster process). Other test files run their own control planes beside these tests; nothing
 * here looks at, or touches, theirs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { CoreV1Api, CustomObjectsApi, type V1Pod } from '@kubernetes/client-node';
import test, { type ExecutionContext } from 'ava';
import { load } from 'js-yaml';
import { askFourLetterWord } from '../../src/zookeeper/four-letter-word.js';
import { loadKubeConfig } from '../harness/kubeconfig.js';
import { belongsToInstance, listDir } from '../harness/kubelet/network.js';
import { sweepLeftovers } from '../harness/leftovers.js';
import { pollUntil } from '../harness/poll.js';
import { freePort } from '../harness/ports.js';
import {
  identityOf,
  isAlive,
  namesDirectory,
  type ProcessEntry,
  type ProcessIdentity,
  parseIdentity,
  readProcessTable,
  thisProcess,
  worksInDirectory,
} from '../harness/process-table.js';
import { readReadyFile } from '../harness/ready-file.js';
import { repoPath } from '../harness/repo.js';
import { DUPLICATE_SIGNAL_MS } from '../harness/shutdown.js';
import { OWNER_FILE, sweepDeadWorkDirs } from '../harness/work-dir.js';

const NODE = repoPath('node_modules/.bin/node');
const DEV_CLUSTER = repoPath('test/harness/dev-cluster.ts');
const RECORD_DIR = '/run/process-kubelet';
const ZOOKEEPER_MAIN = 'org.apache.zookeeper.server.quorum.QuorumPeerMain';
const ZOOKEEPER_PODS = 3;
const START_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 90_000;
const NAMESPACE = 'cleanup';
const IGNORES_SIGTERM = "trap '' TERM";
/** The exit path SIGKILLs without waiting for every process to be gone: how long "nothing left" may take to hold. */
const REMAINS_GONE_MS = 10_000;

// ----------------------------------------------------------------------------- process groups

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A command started as the leader of its own process group, as a shell starts a foreground job. */
interface GroupLeader {
  readonly pid: number;
  readonly exited: Promise<Exit>;
  hasExited(): boolean;
  /** Everything it printed so far (stdout and stderr interleaved). */
  output(): string;
}

function startGroupLeader(t: ExecutionContext, command: string, args: string[], env: NodeJS.ProcessEnv): GroupLeader {
  const child: ChildProcess = spawn(command, args, {
    cwd: repoPath(''),
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const pid = child.pid as number;
  // Whatever happens to the test, the group does not outlive it, nor do its pods, which run in
  // process groups of their own: once the group is gone, the sweep takes what it left.
  t.teardown(async () => {
    const running = child.exitCode === null && child.signalCode === null;
    if (running) {
      signalGroup(pid, 'SIGKILL');
      await Promise.race([exited, delay(10_000)]);
    }
    if (running || !t.passed) {
      const leftovers = await sweepLeftovers();
      t.log(`teardown swept: ${JSON.stringify(leftovers)}`);
    }
  });
  t.teardown(() => {
    if (!t.passed) t.log(`output of ${command} ${args.join(' ')}:\n${output}`);
  });
  return { pid, exited, hasExited: () => child.exitCode !== null || child.signalCode !== null, output: () => output };
}

function signalGroup(leader: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-leader, signal);
  } catch {
    // ESRCH: the whole group is gone already.
  }
}

async function exitWithin(leader: GroupLeader, timeoutMs: number): Promise<Exit> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(`pid ${leader.pid} still running ${timeoutMs / 1000} s after the signal:\n${leader.output()}`),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([leader.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// ------------------------------------------------------------------------------- dev clusters

interface DevCluster extends GroupLeader {
  readonly readyFile: string;
  readonly kubeconfigPath: string;
}

async function scratchDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cleanup-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function startDevCluster(t: ExecutionContext): Promise<DevCluster> {
  const readyFile = join(await scratchDir(t), 'control-plane.json');
  const leader = startGroupLeader(t, NODE, ['--import=tsx', DEV_CLUSTER, '--ready-file', readyFile], process.env);
  const ready = await pollUntil(
    `dev-cluster (pid ${leader.pid}) to write ${readyFile}`,
    () => readReadyFile(readyFile),
    {
      timeoutMs: START_TIMEOUT_MS,
      intervalMs: 250,
      abortIf: async () =>
        leader.hasExited() ? new Error(`dev-cluster exited before it was ready:\n${leader.output()}`) : undefined,
    },
  );
  if (ready.state !== 'ready') throw new Error(`dev-cluster did not start: ${ready.error}`);
  return { ...leader, readyFile, kubeconfigPath: ready.controlPlane.kubeconfigPath };
}

// ---------------------------------------------------------------------------------- workload

/** A standalone ZooKeeper server; its data, config and logs in emptyDirs. */
function zooKeeperPod(name: string): V1Pod {
  const script = [
    'printf "tickTime=2000\\ndataDir=%s\\nclientPort=2181\\nadmin.enableServer=false\\n4lw.commands.whitelist=ruok\\n" "$ZK_DATA_DIR" > "$ZOOCFGDIR/zoo.cfg"',
    'exec zkServer.sh start-foreground "$ZOOCFGDIR/zoo.cfg"',
  ].join(' && ');
  const volumes = ['data', 'conf', 'logs'];
  return {
    metadata: { name, labels: { app: 'cleanup' } },
    spec: {
      containers: [
        {
          name: 'zookeeper',
          image: 'zookeeper:3.9.4',
          command: ['/bin/bash', '-c', script],
          env: [
            { name: 'ZK_DATA_DIR', value: '/data' },
            { name: 'ZOOCFGDIR', value: '/conf' },
            { name: 'ZOO_LOG_DIR', value: '/logs' },
            { name: 'ZK_SERVER_HEAP', value: '64' },
          ],
          volumeMounts: volumes.map((volume) => ({ name: volume, mountPath: `/${volume}` })),
        },
      ],
      volumes: volumes.map((volume) => ({ name: volume, emptyDir: {} })),
    },
  };
}

/** A pod whose process ignores SIGTERM (inherited by its children), so stopping it takes SIGKILL. */
function stubbornPod(): V1Pod {
  return {
    metadata: { name: 'ignores-sigterm', labels: { app: 'cleanup' } },
    spec: {
      containers: [
        {
          name: 'main',
          image: 'zookeeper:3.9.4',
          command: ['/bin/bash', '-c', `${IGNORES_SIGTERM}; while :; do sleep 1; done`],
        },
      ],
    },
  };
}

function isRunning(pod: V1Pod): boolean {
  return pod.status?.phase === 'Running' && (pod.status.containerStatuses ?? []).every((c) => c.state?.running);
}

/** Waits until every pod labelled `selector` in `namespace` runs and each ZooKeeper among them answers `ruok`. */
async function waitForWorkload(
  core: CoreV1Api,
  namespace: string,
  selector: string,
  zooKeepers: number,
): Promise<void> {
  await pollUntil(
    `${zooKeepers} ZooKeeper pod(s) in ${namespace} answering ruok`,
    async () => {
      const pods = (await core.listNamespacedPod({ namespace, labelSelector: selector })).items;
      const notRunning = pods
        .filter((pod) => !isRunning(pod))
        .map((pod) => `${pod.metadata?.name}: ${pod.status?.phase}`);
      if (notRunning.length > 0) throw new Error(`not running: ${notRunning.join(', ')}`);
      const zooKeeperPods = pods.filter((pod) => pod.spec?.containers.some((c) => c.name === 'zookeeper'));
      if (zooKeeperPods.length !== zooKeepers) throw new Error(`${zooKeeperPods.length} ZooKeeper pods`);
      const answers = await Promise.all(
        zooKeeperPods.map((pod) => askFourLetterWord(pod.status?.podIP ?? '', 2181, 'ruok')),
      );
      return answers.every((answer) => answer === 'imok') ? true : undefined;
    },
    { timeoutMs: START_TIMEOUT_MS, intervalMs: 500 },
  );
}

async function runWorkload(cluster: DevCluster): Promise<void> {
  const core = loadKubeConfig(cluster.kubeconfigPath).makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
  for (let i = 0; i < ZOOKEEPER_PODS; i++) {
    await core.createNamespacedPod({ namespace: NAMESPACE, body: zooKeeperPod(`zk-${i}`) });
  }
  await core.createNamespacedPod({ namespace: NAMESPACE, body: stubbornPod() });
  await waitForWorkload(core, NAMESPACE, 'app=cleanup', ZOOKEEPER_PODS);
}

// -------------------------------------------------------------------------------- footprints

/** Everything one run put on the machine, as seen while it ran. */
interface Footprint {
  /** Command line of the process the kubelet record and the work-dir owner files name. */
  readonly devClusterArgv: readonly string[];
  /** The group leader and every process descending from it or running in the run's namespaces. */
  readonly processes: readonly (ProcessIdentity & { argv: string })[];
  readonly zooKeepers: readonly ProcessIdentity[];
  /** The shell of the pod that ignores SIGTERM. */
  readonly stubborn: readonly ProcessIdentity[];
  /** `pkl-<id>` of the run's kubelet instance(s). */
  readonly prefixes: readonly string[];
  readonly records: readonly string[];
  readonly namespaces: readonly string[];
  readonly links: readonly string[];
  readonly netnsDirs: readonly string[];
  readonly workDirs: readonly string[];
}

function namedFor(prefixes: readonly string[], dir: string): string[] {
  return listDir(dir).filter((name) => prefixes.some((prefix) => belongsToInstance(name, prefix)));
}

function netnsInodes(namespaces: readonly string[]): Set<number> {
  const inodes = new Set<number>();
  for (const netns of namespaces) {
    try {
      inodes.add(statSync(`/run/netns/${netns}`).ino);
    } catch {
      // Deleted since it was listed: no process can be in it any more.
    }
  }
  return inodes;
}

function descendantsOf(leader: number, table: readonly ProcessEntry[]): ProcessEntry[] {
  const inTree = new Set([leader]);
  let grown = true;
  while (grown) {
    grown = false;
    for (const entry of table) {
      if (!inTree.has(entry.pid) && inTree.has(entry.ppid)) {
        inTree.add(entry.pid);
        grown = true;
      }
    }
  }
  return table.filter((entry) => inTree.has(entry.pid));
}

/** The identity in a kubelet record or owner file; undefined when there is none (any more). */
function identityIn(path: string): ProcessIdentity | undefined {
  try {
    return parseIdentity(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

function sameProcess(a: ProcessIdentity | undefined, b: ProcessIdentity): boolean {
  return a?.pid === b.pid && a.processStartTime === b.processStartTime;
}

function footprintOf(groupLeader: number): Footprint {
  const table = readProcessTable();
  const tree = descendantsOf(groupLeader, table);
  const devClusterEntry = tree.find((entry) =>
    entry.argv.some((arg) => arg === DEV_CLUSTER || arg.endsWith('test/harness/dev-cluster.ts')),
  );
  if (devClusterEntry === undefined) throw new Error(`no dev-cluster process below pid ${groupLeader}`);
  const devCluster = { pid: devClusterEntry.pid, processStartTime: devClusterEntry.startTime };
  const prefixes = listDir(RECORD_DIR)
    .filter((entry) => sameProcess(identityIn(join(RECORD_DIR, entry)), devCluster))
    .map((entry) => entry.slice(0, -'.json'.length));
  const namespaces = namedFor(prefixes, '/run/netns');
  const inodes = netnsInodes(namespaces);
  const inNamespaces = table.filter((entry) => entry.netnsInode !== undefined && inodes.has(entry.netnsInode));
  const processes = new Map<number, ProcessEntry>();
  for (const entry of [...tree, ...inNamespaces]) processes.set(entry.pid, entry);
  const workDirs = listDir(tmpdir())
    .filter((entry) => entry.startsWith('zkop-'))
    .map((entry) => join(tmpdir(), entry))
    .filter((dir) => sameProcess(identityIn(join(dir, OWNER_FILE)), devCluster));
  const identity = (entry: ProcessEntry) => ({ pid: entry.pid, processStartTime: entry.startTime });
  return {
    devClusterArgv: devClusterEntry.argv,
    processes: [...processes.values()].map((entry) => ({
      ...identity(entry),
      argv: entry.argv.join(' ').slice(0, 160),
    })),
    zooKeepers: inNamespaces.filter((entry) => entry.argv.includes(ZOOKEEPER_MAIN)).map(identity),
    stubborn: inNamespaces.filter((entry) => entry.argv.some((arg) => arg.includes(IGNORES_SIGTERM))).map(identity),
    prefixes,
    records: prefixes.map((prefix) => join(RECORD_DIR, `${prefix}.json`)),
    namespaces,
    links: namedFor(prefixes, '/sys/class/net'),
    netnsDirs: namedFor(prefixes, '/etc/netns'),
    workDirs,
  };
}

/** What of `footprint` is still on the machine; all empty when the run left nothing. */
function remainsOf(footprint: Footprint): Record<string, string[]> {
  const table = readProcessTable();
  const stillUsing = table.filter(
    (entry) =>
      entry.state !== 'Z' &&
      footprint.workDirs.some((dir) => namesDirectory(entry, dir) || worksInDirectory(entry, dir)),
  );
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => [...footprint.prefixes, ...footprint.workDirs].some((name) => line.includes(name)));
  return {
    processes: [
      ...footprint.processes.filter(isAlive).map((p) => `${p.pid} ${p.argv}`),
      ...stillUsing.map((entry) => `${entry.pid} ${entry.argv.join(' ').slice(0, 160)} (uses a work dir)`),
    ],
    namespaces: namedFor(footprint.prefixes, '/run/netns'),
    links: namedFor(footprint.prefixes, '/sys/class/net'),
    netnsDirs: namedFor(footprint.prefixes, '/etc/netns'),
    mounts,
    records: footprint.records.filter((record) => existsSync(record)),
    workDirs: footprint.workDirs.filter((dir) => existsSync(dir)),
  };
}

const NOTHING = { processes: [], namespaces: [], links: [], netnsDirs: [], mounts: [], records: [], workDirs: [] };

/** Nothing of `footprint` is left, within REMAINS_GONE_MS (a process SIGKILLed on the exit path may still be dying). */
async function assertNothingLeft(t: ExecutionContext, footprint: Footprint): Promise<void> {
  const started = Date.now();
  let remains = remainsOf(footprint);
  try {
    await pollUntil(
      'nothing of the run to be left',
      async () => {
        remains = remainsOf(footprint);
        return Object.values(remains).every((names) => names.length === 0) ? true : undefined;
      },
      { timeoutMs: REMAINS_GONE_MS, intervalMs: 100 },
    );
    const waited = Date.now() - started;
    if (waited > 0) t.log(`nothing left ${(waited / 1000).toFixed(1)} s after the exit`);
  } catch {
    // Reported by the assertion below, with what is left.
  }
  t.deepEqual(remains, NOTHING);
}

/** The run had what the assertions rely on: without it "nothing left" would prove nothing. */
function assertFootprint(t: ExecutionContext, footprint: Footprint, pods: number): void {
  t.is(footprint.prefixes.length, 1, 'one kubelet instance recorded for the dev-cluster process');
  t.is(footprint.zooKeepers.length, ZOOKEEPER_PODS, 'the ZooKeeper JVMs run in the pods’ namespaces');
  t.is(footprint.namespaces.length, pods, 'one network namespace per pod');
  t.true(footprint.links.length >= pods + 1, `the bridge and one veth per pod: ${footprint.links.join(', ')}`);
  t.is(footprint.netnsDirs.length, pods, 'one /etc/netns dir per pod');
  t.is(
    footprint.workDirs.length,
    2,
    `the control plane's and the kubelet's work dirs: ${footprint.workDirs.join(', ')}`,
  );
}

// ------------------------------------------------------------------------------------- tests

test.serial(
  'Ctrl-C (SIGINT to the process group) stops every pod and removes everything of the dev cluster',
  async (t) => {
    const cluster = await startDevCluster(t);
    await runWorkload(cluster);
    const footprint = footprintOf(cluster.pid);
    assertFootprint(t, footprint, ZOOKEEPER_PODS + 1);

    const interrupted = Date.now();
    signalGroup(cluster.pid, 'SIGINT');
    const exit = await exitWithin(cluster, STOP_TIMEOUT_MS);
    t.log(`stopped ${((Date.now() - interrupted) / 1000).toFixed(1)} s after SIGINT`);

    t.deepEqual(exit, { code: 130, signal: null });
    await assertNothingLeft(t, footprint);
    t.false(existsSync(cluster.readyFile), 'the ready file is removed');
    t.notRegex(cluster.output(), /could not stop/);
    t.notRegex(cluster.output(), /stopping at once/, 'the graceful path did the work');
  },
);

test.serial('a second Ctrl-C stops at once, and the synchronous path still leaves nothing', async (t) => {
  const cluster = await startDevCluster(t);
  await runWorkload(cluster);
  const footprint = footprintOf(cluster.pid);
  assertFootprint(t, footprint, ZOOKEEPER_PODS + 1);

  signalGroup(cluster.pid, 'SIGINT');
  await pollUntil(
    'the graceful stop to begin',
    async () => (/stopping everything/.test(cluster.output()) ? true : undefined),
    { timeoutMs: 10_000, intervalMs: 50 },
  );
  // A repeat within DUPLICATE_SIGNAL_MS counts as the same Ctrl-C; this one comes later, while
  // the kubelet still waits (5 s) for the pod that ignores SIGTERM.
  await delay(DUPLICATE_SIGNAL_MS + 500);
  if (!footprint.stubborn.some(isAlive)) {
    throw new Error(
      `the pod that ignores SIGTERM (${JSON.stringify(footprint.stubborn)}) is gone ${DUPLICATE_SIGNAL_MS + 500} ms ` +
        'after the first SIGINT, so the graceful stop is not still waiting for it and a second SIGINT proves nothing',
    );
  }
  const interruptedAgain = Date.now();
  signalGroup(cluster.pid, 'SIGINT');
  const exit = await exitWithin(cluster, STOP_TIMEOUT_MS);
  t.log(`stopped ${((Date.now() - interruptedAgain) / 1000).toFixed(1)} s after the second SIGINT`);

  t.regex(cluster.output(), /SIGINT again: stopping at once/);
  t.deepEqual(exit, { code: 130, signal: null });
  await assertNothingLeft(t, footprint);
  t.false(existsSync(cluster.readyFile), 'the ready file is removed');
});

/** A process that ran and is gone: the owner of what a killed run left. */
async function goneProcess(): Promise<ProcessIdentity> {
  const child = spawn('sleep', ['600'], { stdio: 'ignore' });
  await new Promise((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  const identity = identityOf(child.pid as number);
  if (identity === undefined) throw new Error(`sleep (pid ${child.pid}) vanished before its identity was read`);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  return identity;
}

/**
 * A control-plane work dir as a run leaves it, owned by `owner`, with a process in it: one that
 * names the dir in its command line (as etcd does), or, for `workingInside`, one whose working
 * directory is inside it (a developer's shell cd'd there).
 */
async function plantWorkDir(
  t: ExecutionContext,
  owner: ProcessIdentity,
  user: 'namingIt' | 'workingInside',
): Promise<{ dir: string; user: ProcessIdentity }> {
  const dir = await mkdtemp(join(tmpdir(), 'zkop-controlplane-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'etcd'));
  await writeFile(join(dir, OWNER_FILE), `${JSON.stringify(owner)}\n`);
  const child =
    user === 'namingIt'
      ? spawn('/bin/bash', ['-c', 'exec -a "$0" sleep 600', join(dir, 'etcd', 'etcd')], {
          detached: true,
          stdio: 'ignore',
        })
      : spawn('sleep', ['600'], { cwd: join(dir, 'etcd'), detached: true, stdio: 'ignore' });
  await new Promise((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  if (user === 'namingIt') {
    // Once bash has exec'd sleep under the dir's name.
    await pollUntil(
      `pid ${child.pid} to name ${dir}`,
      async () =>
        readProcessTable().some((entry) => entry.pid === child.pid && namesDirectory(entry, dir)) ? true : undefined,
      { timeoutMs: 5_000, intervalMs: 20 },
    );
  }
  const identity = identityOf(child.pid as number);
  if (identity === undefined) throw new Error(`sleep for ${dir} (pid ${child.pid}) vanished at once`);
  return { dir, user: identity };
}

test.serial('after a SIGKILL the pods run on; the next start sweeps what the dead run left', async (t) => {
  const killed = await startDevCluster(t);
  await runWorkload(killed);
  const footprint = footprintOf(killed.pid);
  assertFootprint(t, footprint, ZOOKEEPER_PODS + 1);

  process.kill(killed.pid, 'SIGKILL');
  await exitWithin(killed, 10_000);
  // What a crash leaves: the pods are detached from the kubelet and run on, in their namespaces.
  // (From here on another process may sweep them first: kubelet.test.ts starting its kubelet,
  // another run's dev cluster. So what follows asserts the end state, not who swept what.)
  t.deepEqual(footprint.zooKeepers.filter(isAlive), footprint.zooKeepers, 'the ZooKeeper JVMs outlive the kubelet');
  t.deepEqual(namedFor(footprint.prefixes, '/run/netns'), footprint.namespaces);
  t.deepEqual(namedFor(footprint.prefixes, '/etc/netns'), footprint.netnsDirs);
  t.true(namedFor(footprint.prefixes, '/sys/class/net').includes(footprint.prefixes[0] ?? ''), 'the bridge stays');
  t.true(
    footprint.records.every((record) => existsSync(record)),
    'the kubelet record stays',
  );
  const kubeletDir = footprint.workDirs.find((dir) => dir.includes('zkop-kubelet-')) ?? '';
  t.true(existsSync(kubeletDir), 'the kubelet work dir stays (the pods still use it)');
  // The control plane dies with its parent (PR_SET_PDEATHSIG); where that is not available it
  // stays, with its work dir. Such a dir of a dead owner is swept, with the process naming it;
  // one of a live owner is not.
  const dead = await plantWorkDir(t, await goneProcess(), 'namingIt');
  const live = await plantWorkDir(t, thisProcess(), 'namingIt');

  const next = await startDevCluster(t);
  const swept = /dev-cluster: swept what a killed run left: (.*)/.exec(next.output())?.[1];
  t.log(`swept by this start: ${swept ?? 'nothing (another process swept first)'}`);
  await assertNothingLeft(t, footprint);
  t.false(existsSync(dead.dir), 'the dead owner’s work dir is removed');
  t.false(isAlive(dead.user), 'the process naming it is killed');
  t.true(existsSync(live.dir), 'the live owner’s work dir stays');
  t.true(isAlive(live.user), 'the process naming it runs on');

  const nextFootprint = footprintOf(next.pid);
  t.is(nextFootprint.workDirs.length, 2);
  process.kill(next.pid, 'SIGTERM');
  t.deepEqual(await exitWithin(next, STOP_TIMEOUT_MS), { code: 143, signal: null });
  await assertNothingLeft(t, nextFootprint);
  t.notRegex(next.output(), /stopping at once/, 'the graceful path did the work');
});

// Called directly, not through a dev cluster's start: while waiting for one, another checkout's
// run with older harness code (which killed such processes) could sweep the dir first.
test.serial('the sweep keeps a dead run’s work dir that a process only works inside, and that process', async (t) => {
  const inside = await plantWorkDir(t, await goneProcess(), 'workingInside');
  const sweep = await sweepDeadWorkDirs();
  t.log(`not removed: ${sweep.notRemoved.join('; ')}`);
  t.true(
    sweep.notRemoved.some((line) => line.startsWith(`${inside.dir}, left by a run that is gone: kept`)),
    'the sweep says it kept the dir',
  );
  t.false(sweep.workDirs.includes(inside.dir));
  t.true(existsSync(inside.dir), 'the dir stays');
  t.true(isAlive(inside.user), 'the process working inside it runs on');
});

/** The control-plane binaries and ZooKeeper distributions, wherever this machine keeps them. */
function cacheDir(): string {
  return process.env.ZKOP_CACHE_DIR ?? join(homedir(), '.cache', 'zookeeper-operator');
}

async function probeStatus(url: string): Promise<number | undefined> {
  try {
    return (await fetch(url)).status;
  } catch {
    return undefined;
  }
}

test.serial(
  'Ctrl-C of `make run` without a kube context stops the operator, its ZooKeeper and the dev cluster, leaving nothing',
  async (t) => {
    const home = await scratchDir(t);
    const probePort = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      // No ~/.kube/config and no KUBECONFIG: `make run` starts the dev cluster. HOME also locates
      // the binary cache, so that is passed explicitly.
      HOME: home,
      ZKOP_CACHE_DIR: cacheDir(),
      PROBE_ADDRESS: `127.0.0.1:${probePort}`,
    };
    for (const name of ['KUBECONFIG', 'MAKEFLAGS', 'MAKELEVEL', 'MFLAGS']) delete env[name];
    // -o: never reinstall node_modules from a test, even if package.json is newer.
    const make = startGroupLeader(t, 'make', ['--no-print-directory', '-o', 'node_modules/.installed', 'run'], env);
    const makeGone = async () => (make.hasExited() ? new Error(`make run exited early:\n${make.output()}`) : undefined);
    const kubeconfigPath = await pollUntil(
      'make run to start the dev cluster',
      async () => /run-operator: export KUBECONFIG=(\S+)/.exec(make.output())?.[1],
      { timeoutMs: START_TIMEOUT_MS, intervalMs: 250, abortIf: makeGone },
    );
    await pollUntil(
      `the operator to be ready on 127.0.0.1:${probePort}`,
      async () => ((await probeStatus(`http://127.0.0.1:${probePort}/readyz`)) === 200 ? true : undefined),
      { timeoutMs: 60_000, intervalMs: 250, abortIf: makeGone },
    );
    const kubeConfig = loadKubeConfig(kubeconfigPath);
    const core = kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
    const cluster = load(await readFile(repoPath('examples/dev-ephemeral.yaml'), 'utf8')) as {
      metadata: { name: string };
    };
    await kubeConfig.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: 'zookeeper.ensembles.dev',
      version: 'v1alpha1',
      namespace: NAMESPACE,
      plural: 'zookeeperclusters',
      body: cluster,
    });
    await waitForWorkload(core, NAMESPACE, `app.kubernetes.io/instance=${cluster.metadata.name}`, 1);
    const footprint = footprintOf(make.pid);
    t.is(footprint.zooKeepers.length, 1, 'the operator’s ZooKeeper member runs');
    t.is(footprint.namespaces.length, 1);
    t.is(footprint.workDirs.length, 2);
    t.true(
      footprint.processes.some((p) => p.argv.includes('src/main.ts')),
      'the operator runs as a process of make run',
    );
    const readyFile = footprint.devClusterArgv[footprint.devClusterArgv.indexOf('--ready-file') + 1] ?? '';
    t.true(existsSync(readyFile));

    signalGroup(make.pid, 'SIGINT');
    const exit = await exitWithin(make, STOP_TIMEOUT_MS);
    t.log(`make exited with ${JSON.stringify(exit)}`);

    await assertNothingLeft(t, footprint);
    t.false(existsSync(readyFile), 'the ready file is removed');
    t.notRegex(make.output(), /could not stop/);
    t.notRegex(make.output(), /stopping at once/, 'the graceful path did the work');
  },
);
