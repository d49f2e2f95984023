/**
 * ava fixture: one control plane (with the process kubelet) per ava run, shared by every test
 * file, and a fresh namespace per test.
 *
 * How it is shared. ava runs each test file in its own worker thread, so module state is per
 * file; the control plane therefore lives in a separate process, `dev-cluster.ts`:
 * - ZKOP_TEST_CONTROL_PLANE=<path> set: attach to the control plane that ready file describes
 *   (a `dev-cluster.ts --ready-file <path>` someone started, e.g. `make dev-cluster`).
 * - Otherwise the first test file that asks starts `dev-cluster.ts` as a detached process for
 *   this ava run: it takes an exclusive lock file in `$TMPDIR/zkop-test-run-<ava pid>/`, and
 *   every other file waits for the ready file there. dev-cluster watches the ava process and
 *   stops everything once ava has exited, however it exited, and then removes that directory
 *   (after a failed start or stop it keeps it, with its log, until the next run removes it).
 *   `npx ava <one file>` works too, at the cost of one start-up.
 * - `useOwnTestEnvironment()` instead: a test file whose fault would disturb every other file
 *   (restarting kube-apiserver) starts a control plane and kubelet of its own in its own process,
 *   and `controlPlane()` then returns that one to every helper. Its processes, namespaces and
 *   dirs go when the file's process exits, however it exits (shutdown.ts, work-dir.ts).
 * A test that needs the control plane FAILS with the reason (never skips) when it cannot start.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { CoreV1Api } from '@kubernetes/client-node';
import type { ExecutionContext } from 'ava';
import { attachControlPlane, type ControlPlane } from './controlplane.js';
import { startTestEnvironment, type TestEnvironment } from './environment.js';
import { pollUntil } from './poll.js';
import { isProcessAlive, readLogTail } from './processes.js';
import { type ReadyFile, readReadyFile, writeReadyFile } from './ready-file.js';
import { repoPath } from './repo.js';

/** Longest wait for a shared control plane: binaries check, 120 s for the apiserver, CRDs, KCM, kube-scheduler, kubelet. */
const START_TIMEOUT_MS = 300_000;

let sharedControlPlane: Promise<ControlPlane> | undefined;

/** The control plane of this test run (started on first use); rejects with the reason it cannot start. */
export function controlPlane(): Promise<ControlPlane> {
  sharedControlPlane ??= connect();
  return sharedControlPlane;
}

/**
 * Starts a test environment of this file's own (see the header) and makes it the one
 * `controlPlane()` returns. Call it before anything asks for the control plane, e.g. in
 * `test.before`, and stop it in `test.after.always`.
 */
export async function useOwnTestEnvironment(log: (line: string) => void = () => {}): Promise<TestEnvironment> {
  if (sharedControlPlane !== undefined) {
    throw new Error('useOwnTestEnvironment: this file already uses a control plane; call it before anything else');
  }
  const environment = startTestEnvironment(log);
  sharedControlPlane = environment.then((started) => started.controlPlane);
  return environment;
}

/**
 * Creates a namespace named after the test (plus a random suffix) and deletes it when the test
 * ends; the namespace controller then removes everything in it.
 */
export async function newNamespace(t: ExecutionContext): Promise<string> {
  const plane = await controlPlane();
  const core = plane.kubeConfig.makeApiClient(CoreV1Api);
  const name = namespaceNameFor(t.title);
  await core.createNamespace({
    body: { metadata: { name, labels: { 'zookeeper-operator.test/title-slug': slug(t.title, 63) } } },
  });
  t.teardown(async () => {
    try {
      await core.deleteNamespace({ name });
    } catch (error) {
      if ((error as { code?: number }).code !== 404) throw error;
    }
  });
  return name;
}

async function connect(): Promise<ControlPlane> {
  const given = process.env.ZKOP_TEST_CONTROL_PLANE;
  if (given) {
    const content = await readReadyFile(given);
    if (content === undefined) {
      throw new Error(
        `ZKOP_TEST_CONTROL_PLANE=${given}: no such file; start dev-cluster.ts --ready-file and wait for it`,
      );
    }
    return attachTo(given, content);
  }
  const readyFile = await launchOrJoinRunCluster();
  const content = await pollUntil(`the control plane described by ${readyFile}`, () => readReadyFile(readyFile), {
    timeoutMs: START_TIMEOUT_MS,
    intervalMs: 200,
    abortIf: runClusterFailure,
  });
  return attachTo(readyFile, content);
}

function attachTo(readyFile: string, content: ReadyFile): ControlPlane {
  if (content.state === 'failed') throw new Error(`the test control plane did not start: ${content.error}`);
  if (!isProcessAlive(content.pid)) {
    throw new Error(`${readyFile} describes a control plane whose dev-cluster process (pid ${content.pid}) is gone`);
  }
  return attachControlPlane(content.controlPlane);
}

const RUN_DIR_PREFIX = 'zkop-test-run-';

/** ava's pid: worker threads share it, child-process workers see it as their parent. */
function avaPid(): number {
  return isMainThread ? process.ppid : process.pid;
}

function runDir(): string {
  return join(tmpdir(), `${RUN_DIR_PREFIX}${avaPid()}`);
}

/** Starts dev-cluster for this run unless another test file already did; returns the ready file's path. */
async function launchOrJoinRunCluster(): Promise<string> {
  const dir = runDir();
  const readyFile = join(dir, 'control-plane.json');
  const lockPath = join(dir, 'dev-cluster.pid');
  await removeFinishedRunDirs();
  await mkdir(dir, { recursive: true });
  let lock: Awaited<ReturnType<typeof open>>;
  try {
    lock = await open(lockPath, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // This run's cluster: its dev-cluster runs (it stops when this run's ava exits), or another
    // file is launching it this moment. A lock whose dev-cluster is gone was left by an earlier
    // run whose pid ava now has again. (Not this process's age: each test file is a child
    // process of its own, younger than the lock an earlier file of the same run took.)
    const recorded = Number((await readFile(lockPath, 'utf8')).trim());
    const launching = !recorded && Date.now() - (await stat(lockPath)).mtimeMs < START_TIMEOUT_MS;
    if (launching || (recorded > 0 && isProcessAlive(recorded))) return readyFile;
    await rm(dir, { recursive: true, force: true });
    return launchOrJoinRunCluster();
  }
  try {
    const devClusterPid = await spawnDevCluster(dir, readyFile);
    await lock.writeFile(String(devClusterPid));
  } catch (error) {
    // Tell the files waiting for this run's cluster, instead of letting them time out.
    const reason = `could not launch dev-cluster.ts: ${(error as Error).message}`;
    await writeReadyFile(readyFile, { state: 'failed', pid: process.pid, error: reason });
  } finally {
    await lock.close();
  }
  return readyFile;
}

async function spawnDevCluster(dir: string, readyFile: string): Promise<number> {
  const logFile = await open(join(dir, 'dev-cluster.log'), 'a');
  try {
    const devCluster = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        repoPath('test/harness/dev-cluster.ts'),
        '--ready-file',
        readyFile,
        '--stop-when-pid-exits',
        String(avaPid()),
        '--run-dir',
        dir,
      ],
      { cwd: repoPath(''), detached: true, stdio: ['ignore', logFile.fd, logFile.fd] },
    );
    await new Promise<void>((resolve, reject) => {
      devCluster.once('spawn', resolve);
      devCluster.once('error', reject);
    });
    devCluster.unref();
    return devCluster.pid as number;
  } finally {
    await logFile.close();
  }
}

/** Removes the run directories of ava processes that are gone (their dev-cluster has stopped). */
async function removeFinishedRunDirs(): Promise<void> {
  if (process.env.KEEP_TEST_DIRS === '1') return;
  const entries = await readdir(tmpdir()).catch(() => []);
  for (const entry of entries) {
    const pid = Number(entry.slice(RUN_DIR_PREFIX.length));
    if (!entry.startsWith(RUN_DIR_PREFIX) || !Number.isInteger(pid) || isProcessAlive(pid)) continue;
    const devClusterPid = Number(await readFile(join(tmpdir(), entry, 'dev-cluster.pid'), 'utf8').catch(() => ''));
    if (devClusterPid > 0 && isProcessAlive(devClusterPid)) continue;
    await rm(join(tmpdir(), entry), { recursive: true, force: true });
  }
}

/** Why this run's dev-cluster cannot deliver (it died), or `undefined` while it may. */
async function runClusterFailure(): Promise<Error | undefined> {
  const dir = runDir();
  const pidText = await readFile(join(dir, 'dev-cluster.pid'), 'utf8').catch(() => '');
  const pid = Number(pidText);
  if (pidText === '' || isProcessAlive(pid)) return undefined;
  // It may have written its ready file (with the error) just before exiting.
  if ((await readReadyFile(join(dir, 'control-plane.json'))) !== undefined) return undefined;
  const logPath = join(dir, 'dev-cluster.log');
  const tail = await readLogTail(logPath, 40);
  return new Error(
    `dev-cluster (pid ${pid}) exited before the control plane was ready. Last lines of ${logPath}:\n${tail}`,
  );
}

function namespaceNameFor(title: string): string {
  return `t-${slug(title, 48)}-${randomBytes(3).toString('hex')}`;
}

/** Lower-case letters, digits and single dashes, at most `length` characters, no dash at either end. */
function slug(text: string, length: number): string {
  const slugged = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, length)
    .replace(/^-+|-+$/g, '');
  return slugged || 'test';
}
