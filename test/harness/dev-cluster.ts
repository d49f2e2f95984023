/**
 * A local development cluster: the test control plane plus the process kubelet, with the
 * repo's CRDs installed, running until SIGINT/SIGTERM/SIGHUP. Before it starts, it sweeps what
 * runs killed earlier left (leftovers.ts); when it stops, nothing of it remains: no process,
 * network namespace, link, /etc/netns dir, kubelet record or work dir (shutdown.ts).
 *
 *   node --import=tsx test/harness/dev-cluster.ts [--ready-file <path>] [--stop-when-pid-exits <pid>] [--run-dir <dir>]
 *                                               [--apiserver-arg <flag>]...
 *
 * Not through the `tsx` command: it relays signals to a child process, and SIGKILLs that child
 * if it has not acknowledged a signal within 30 ms, which a busy dev cluster cannot promise.
 *
 * --ready-file           write a JSON description (state, kubeconfig path, server, CA, ...)
 *                        there once ready, or the error if it failed (see ready-file.ts), so
 *                        a script can start this in the background and wait for the file.
 *                        Point ZKOP_TEST_CONTROL_PLANE at it to run tests against this cluster.
 * --stop-when-pid-exits  stop everything once that process is gone (the shared ava fixture
 *                        uses it to tie the cluster to one ava run), within the same deadline
 *                        as a signal; exits 0, or 1 if a part could not be stopped gracefully.
 * --run-dir              a directory that belongs to this cluster alone (the ava fixture's,
 *                        which holds this process's log): removed after a clean stop unless
 *                        KEEP_TEST_DIRS=1, kept after a failed start or stop for its log.
 * --apiserver-arg        a kube-apiserver flag, as `--apiserver-arg=--audit-log-path=/x`;
 *                        repeatable (the benchmarks count the operator's writes in the audit log).
 * Progress goes to stderr; the `export KUBECONFIG=...` lines go to stdout.
 */
import { rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { startTestEnvironment, type TestEnvironment } from './environment.js';
import { isProcessAlive } from './processes.js';
import { writeReadyFile } from './ready-file.js';
import { onShutdown, stopAll } from './shutdown.js';

const PARENT_CHECK_INTERVAL_MS = 1_000;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'ready-file': { type: 'string' },
      'stop-when-pid-exits': { type: 'string' },
      'run-dir': { type: 'string' },
      'apiserver-arg': { type: 'string', multiple: true, default: [] },
    },
  });
  const readyFile = values['ready-file'];
  const runDir = process.env.KEEP_TEST_DIRS === '1' ? undefined : values['run-dir'];
  const watchedPid = values['stop-when-pid-exits'] === undefined ? undefined : Number(values['stop-when-pid-exits']);
  if (watchedPid !== undefined && !Number.isInteger(watchedPid)) {
    throw new Error(`--stop-when-pid-exits needs a process id, got ${values['stop-when-pid-exits']}`);
  }
  const log = (line: string) => process.stderr.write(`dev-cluster: ${line}\n`);

  let environment: TestEnvironment;
  try {
    environment = await startTestEnvironment(log, values['apiserver-arg']);
  } catch (error) {
    const message = (error as Error).message;
    if (readyFile !== undefined) await writeReadyFile(readyFile, { state: 'failed', pid: process.pid, error: message });
    log(message);
    process.exit(1);
  }

  const { controlPlane } = environment;
  let stopping: Promise<void> | undefined;
  const shutDown = (): Promise<void> => {
    stopping ??= (async () => {
      await environment.stop();
      if (readyFile !== undefined) await rm(readyFile, { force: true });
      if (runDir !== undefined) await rm(runDir, { recursive: true, force: true });
    })();
    return stopping;
  };
  // The control plane, the kubelet and their work dirs have hooks of their own for the exit path.
  onShutdown({
    name: 'dev cluster',
    stop: shutDown,
    stopNow: () => {
      if (readyFile !== undefined) rmSync(readyFile, { force: true });
    },
  });
  if (readyFile !== undefined) {
    await writeReadyFile(readyFile, { state: 'ready', pid: process.pid, controlPlane: controlPlane.describe() });
  }

  process.stdout.write(
    [
      `Control plane ready: ${controlPlane.server} (work dir ${controlPlane.workDir})`,
      `  export KUBECONFIG=${controlPlane.kubeconfigPath}`,
      `  export PATH=${dirname(controlPlane.binaries.kubectl)}:${dirname(controlPlane.binaries.helm)}:$PATH   # kubectl ${controlPlane.binaries.versions.kubernetes}, helm`,
      '  kubectl get namespaces',
      ...(readyFile === undefined
        ? []
        : [`  ZKOP_TEST_CONTROL_PLANE=${readyFile} npx ava test/integration   # tests against it`]),
      'Stop with Ctrl-C (SIGINT) or SIGTERM.',
      '',
    ].join('\n'),
  );

  // Stays alive until a signal (handled by shutdown.ts) or until the watched process is gone,
  // which stops everything the same way, under the same deadline.
  const watch = setInterval(() => {
    if (watchedPid !== undefined && !isProcessAlive(watchedPid)) {
      clearInterval(watch);
      log(`process ${watchedPid} is gone; stopping`);
      void stopAll(`the end of process ${watchedPid}`, 1).then((stopped) => process.exit(stopped ? 0 : 1));
    }
  }, PARENT_CHECK_INTERVAL_MS);
}

await main();
