/**
 * The control plane's temp work dir, removed when the control plane stops and also when the
 * thread that made it dies without stopping it (Node killed with SIGKILL, an ava worker thread
 * terminated mid-teardown): a tiny `sh` reaper, started with PR_SET_PDEATHSIG=SIGTERM, removes
 * it then (etcd alone preallocates 64 MB there). KEEP_TEST_DIRS=1 keeps every work dir, and a
 * directory the caller passed in is never removed.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface WorkDir {
  readonly path: string;
  /** False for a given dir and when KEEP_TEST_DIRS=1. */
  readonly removedOnStop: boolean;
  /** Removes a temporary directory now (unless KEEP_TEST_DIRS=1) and retires its reaper. */
  remove(): Promise<void>;
}

const SETPRIV = '/usr/bin/setpriv';
// $1 is the directory. `wait` returns as soon as the trapped signal arrives; the trap also ends the sleep.
const REAPER_SCRIPT =
  'trap \'kill $! 2>/dev/null; rm -rf -- "$1"; exit 0\' TERM; while :; do sleep 3600 & wait $!; done';

/** A fresh directory under the system temp dir, e.g. `/tmp/zkop-controlplane-AbC123`. */
export async function createTemporaryWorkDir(prefix: string): Promise<WorkDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  if (process.env.KEEP_TEST_DIRS === '1') return givenWorkDir(path);
  const reaper = existsSync(SETPRIV)
    ? spawn(SETPRIV, ['--pdeathsig', 'TERM', '--', '/bin/sh', '-c', REAPER_SCRIPT, 'zkop-work-dir-reaper', path], {
        detached: true,
        stdio: 'ignore',
      })
    : undefined;
  reaper?.unref();
  return {
    path,
    removedOnStop: true,
    remove: async () => {
      // The whole group: the reaper's `sleep` would otherwise outlive it by up to an hour.
      if (reaper?.pid !== undefined) {
        try {
          process.kill(-reaper.pid, 'SIGKILL');
        } catch {
          // ESRCH: the reaper is gone already.
        }
      }
      await rm(path, { recursive: true, force: true });
    },
  };
}

/** A directory the caller chose and owns: never removed. */
export function givenWorkDir(path: string): WorkDir {
  return { path, removedOnStop: false, remove: async () => {} };
}
