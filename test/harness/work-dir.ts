/**
 * Temp work dirs of the harness (`/tmp/zkop-controlplane-*`, `/tmp/zkop-kubelet-*`), and the
 * sweep of those a killed run left.
 *
 * A temporary dir is removed by `remove()`, at process exit (a shutdown hook, see shutdown.ts),
 * and, unless `removeWhenThreadDies` is false, also when the thread that made it dies without
 * either (Node killed with SIGKILL, an ava worker thread terminated mid-teardown): a tiny `sh`
 * reaper, started with PR_SET_PDEATHSIG=SIGTERM, removes it then (etcd alone preallocates 64 MB
 * there). Each one holds an owner file (`.zkop-owner.json`: pid and start time of the process
 * that made it), so that `sweepDeadWorkDirs` can tell a dir of a dead run from one of a live run
 * beside it. KEEP_TEST_DIRS=1 keeps every work dir (no owner file, so never swept), and a
 * directory the caller passed in is never removed.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  isAlive,
  killProcesses,
  namesDirectory,
  parseIdentity,
  readProcessTable,
  thisProcess,
  waitUntilGoneSync,
  worksInDirectory,
} from './process-table.js';
import { onShutdown } from './shutdown.js';

export interface WorkDir {
  readonly path: string;
  /** False for a given dir and when KEEP_TEST_DIRS=1. */
  readonly removedOnStop: boolean;
  /** Removes a temporary directory now (unless KEEP_TEST_DIRS=1) and retires its reaper. */
  remove(): Promise<void>;
}

export interface TemporaryWorkDirOptions {
  /**
   * Default true. False where processes outlive the thread and still write into the dir (the
   * kubelet's pods run on after a SIGKILL): the next dev-cluster start sweeps the dir together
   * with those processes, instead of a reaper racing them.
   */
  readonly removeWhenThreadDies?: boolean;
}

/** What `sweepDeadWorkDirs` removed. */
export interface WorkDirSweep {
  readonly workDirs: string[];
  /** Pids of the processes it SIGKILLed because their command line named one of those dirs. */
  readonly killedPids: number[];
  /** Dirs of dead runs it left in place, each with why. */
  readonly notRemoved: string[];
}

export const OWNER_FILE = '.zkop-owner.json';
const WORK_DIR_PREFIX = 'zkop-';
const SETPRIV = '/usr/bin/setpriv';
/** How long a SIGKILLed process may take to be gone before its dir is removed anyway. */
const KILL_WAIT_MS = 2_000;
// $1 is the directory. `wait` returns as soon as the trapped signal arrives; the trap also ends the sleep.
const REAPER_SCRIPT =
  'trap \'kill $! 2>/dev/null; rm -rf -- "$1"; exit 0\' TERM; while :; do sleep 3600 & wait $!; done';

/** A fresh directory under the system temp dir, e.g. `/tmp/zkop-controlplane-AbC123`. */
export async function createTemporaryWorkDir(prefix: string, options: TemporaryWorkDirOptions = {}): Promise<WorkDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  if (process.env.KEEP_TEST_DIRS === '1') return givenWorkDir(path);
  await writeFile(join(path, OWNER_FILE), `${JSON.stringify(thisProcess())}\n`);
  const reaper =
    options.removeWhenThreadDies !== false && existsSync(SETPRIV)
      ? spawn(SETPRIV, ['--pdeathsig', 'TERM', '--', '/bin/sh', '-c', REAPER_SCRIPT, 'zkop-work-dir-reaper', path], {
          detached: true,
          stdio: 'ignore',
        })
      : undefined;
  reaper?.unref();
  // The whole group: the reaper's `sleep` would otherwise outlive it by up to an hour.
  const retireReaper = () => {
    if (reaper?.pid === undefined) return;
    try {
      process.kill(-reaper.pid, 'SIGKILL');
    } catch {
      // ESRCH: the reaper is gone already.
    }
  };
  let removing: Promise<void> | undefined;
  const remove = (): Promise<void> => {
    removing ??= (async () => {
      retireReaper();
      await rm(path, { recursive: true, force: true });
      unregister();
    })();
    return removing;
  };
  // Registered before anything runs in the dir, so at exit it is removed after those processes are killed.
  const unregister = onShutdown({
    name: `work dir ${path}`,
    stop: remove,
    stopNow: () => {
      retireReaper();
      if (reaper?.pid !== undefined) waitUntilGoneSync([reaper.pid], KILL_WAIT_MS);
      // The processes using the dir were SIGKILLed and waited for (processes.ts); retries for any other writer.
      rmSync(path, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    },
  });
  return { path, removedOnStop: true, remove };
}

/** A directory the caller chose and owns: never removed. */
export function givenWorkDir(path: string): WorkDir {
  return { path, removedOnStop: false, remove: async () => {} };
}

/**
 * Removes every `zkop-*` dir under the temp dir whose owner file names a process that is gone,
 * after SIGKILLing the processes whose command line names it (the control plane of a killed run,
 * its pods' JVMs). A dir without an owner file is never touched: it may be kept on purpose
 * (KEEP_TEST_DIRS=1) or belong to a live run of older harness code. A process that only works
 * inside a dead dir (a developer's shell cd'd there) is not killed; the dir stays, and is named
 * in `notRemoved`, as is one whose removal failed; the next sweep tries again.
 */
export async function sweepDeadWorkDirs(): Promise<WorkDirSweep> {
  const root = tmpdir();
  const deadDirs: string[] = [];
  for (const entry of (await readdir(root).catch(() => [])).sort()) {
    if (!entry.startsWith(WORK_DIR_PREFIX)) continue;
    const dir = join(root, entry);
    let ownerText: string;
    try {
      ownerText = readFileSync(join(dir, OWNER_FILE), 'utf8');
    } catch {
      continue;
    }
    const owner = parseIdentity(ownerText);
    if (owner !== undefined && !isAlive(owner)) deadDirs.push(dir);
  }
  if (deadDirs.length === 0) return { workDirs: [], killedPids: [], notRemoved: [] };
  const table = readProcessTable().filter((entry) => entry.state !== 'Z');
  const killedPids = killProcesses(
    table.filter((entry) => deadDirs.some((dir) => namesDirectory(entry, dir))).map((entry) => entry.pid),
  );
  // Gone before their dirs are removed, so no last write lands in a dir being removed.
  waitUntilGoneSync(killedPids, KILL_WAIT_MS);
  const workDirs: string[] = [];
  const notRemoved: string[] = [];
  for (const dir of deadDirs) {
    const insiders = table.filter((entry) => !killedPids.includes(entry.pid) && worksInDirectory(entry, dir));
    if (insiders.length > 0) {
      const names = insiders.map((entry) => `${entry.pid} (${entry.argv[0] ?? '?'})`).join(', ');
      notRemoved.push(`${dir}, left by a run that is gone: kept, processes work inside it: ${names}`);
      continue;
    }
    try {
      await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
      workDirs.push(dir);
    } catch (error) {
      notRemoved.push(`${dir}, left by a run that is gone: could not remove it: ${(error as Error).message}`);
    }
  }
  return { workDirs, killedPids, notRemoved };
}
