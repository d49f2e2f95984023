/**
 * Process-wide teardown for the test harness.
 *
 * Anything that owns an outside resource (a child process, a work directory) registers a hook
 * here, and unregisters it only once its own stop has finished, so that an exit in the middle of
 * that stop still runs the hook's `stopNow`. Hooks run once, newest first, on whichever comes
 * first:
 * - the owner's own stop (it unregisters its hook);
 * - SIGINT, SIGTERM or SIGHUP, or a caller's `stopAll` (dev-cluster.ts when the process it is
 *   tied to is gone): every hook's async `stop`; on a signal the process then exits with
 *   128 + signal. A terminal's Ctrl-C reaches the whole process group, and make (SIGTERM) or a
 *   script in between may pass the same request on again, so a further signal within
 *   DUPLICATE_SIGNAL_MS of the first counts as the same request. A later one, or a graceful stop
 *   (either way) still running after GRACEFUL_STOP_MS, exits at once, which runs the synchronous
 *   path below;
 * - process exit (normal end, uncaught error, `process.exit`): every hook's synchronous
 *   `stopNow`, because nothing asynchronous runs after 'exit'. It must be complete on its own
 *   (SIGKILL every process, remove every namespace and directory), and fast with hundreds of pods.
 * The signal and exit handlers are installed once, on the first registration.
 * (In a worker thread signals are not delivered; there 'exit' fires when the thread ends.)
 */

export interface ShutdownHook {
  /** Says what is stopped, for the message printed when a stop fails. */
  readonly name: string;
  /** Graceful stop, used on SIGINT/SIGTERM. */
  stop(): Promise<void>;
  /** Last-resort stop that must finish synchronously (SIGKILL, rmSync), used on exit. */
  stopNow(): void;
}

const HANDLED_SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;
type HandledSignal = keyof typeof HANDLED_SIGNALS;
/** A second signal this soon after the first is the same request passed on by make or a script. */
export const DUPLICATE_SIGNAL_MS = 1_000;
/** Longest graceful stop (pods get 5 s, control-plane processes 10 s each) before the synchronous path takes over. */
const GRACEFUL_STOP_MS = 60_000;

const hooks: ShutdownHook[] = [];
let handlersInstalled = false;
let firstSignalAt: number | undefined;

/** Registers a hook and returns the function that unregisters it. */
export function onShutdown(hook: ShutdownHook): () => void {
  installHandlers();
  hooks.push(hook);
  return () => {
    const index = hooks.indexOf(hook);
    if (index >= 0) hooks.splice(index, 1);
  };
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.once('exit', stopAllNow);
  for (const signal of Object.keys(HANDLED_SIGNALS) as HandledSignal[]) {
    process.on(signal, () => onSignal(signal));
  }
}

function stopAllNow(): void {
  for (const hook of hooks.splice(0).reverse()) {
    try {
      hook.stopNow();
    } catch (error) {
      process.stderr.write(`harness: could not stop ${hook.name} at exit: ${String(error)}\n`);
    }
  }
}

function onSignal(signal: HandledSignal): void {
  const exitCode = 128 + HANDLED_SIGNALS[signal];
  if (firstSignalAt === undefined) {
    firstSignalAt = Date.now();
    if (hooks.length > 0) {
      process.stderr.write(`harness: ${signal}: stopping everything; signal again to stop at once\n`);
    }
    void stopAll(signal, exitCode).then(() => process.exit(exitCode));
    return;
  }
  if (Date.now() - firstSignalAt < DUPLICATE_SIGNAL_MS) return;
  process.stderr.write(`harness: ${signal} again: stopping at once\n`);
  process.exit(exitCode);
}

let stoppingAll: Promise<boolean> | undefined;

/**
 * Every hook's graceful stop, newest first, as on a signal; `reason` goes into the messages.
 * Past GRACEFUL_STOP_MS the process exits with `exitCodeAtDeadline` (which runs the synchronous
 * path). The deadline timer is not unref'd: a stop that waits on something without an open
 * handle would otherwise let Node exit 0 in the middle of it; it is cleared once the stop ends.
 * Resolves true when every hook stopped gracefully. Called again, it returns the same promise.
 */
export function stopAll(reason: string, exitCodeAtDeadline: number): Promise<boolean> {
  stoppingAll ??= (async () => {
    const deadline = setTimeout(() => {
      process.stderr.write(`harness: still stopping after ${GRACEFUL_STOP_MS / 1000} s; stopping at once\n`);
      process.exit(exitCodeAtDeadline);
    }, GRACEFUL_STOP_MS);
    try {
      return await stopAllGracefully(reason);
    } finally {
      clearTimeout(deadline);
    }
  })();
  return stoppingAll;
}

async function stopAllGracefully(reason: string): Promise<boolean> {
  let allStopped = true;
  while (hooks.length > 0) {
    // Stays registered while it stops, so an exit meanwhile (stopAllNow) still finishes it.
    const hook = hooks.at(-1) as ShutdownHook;
    try {
      await hook.stop();
    } catch (error) {
      allStopped = false;
      process.stderr.write(`harness: could not stop ${hook.name} on ${reason}: ${String(error)}\n`);
      try {
        hook.stopNow();
      } catch (nowError) {
        process.stderr.write(`harness: could not stop ${hook.name} at once either: ${String(nowError)}\n`);
      }
    }
    const index = hooks.indexOf(hook);
    if (index >= 0) hooks.splice(index, 1);
  }
  return allStopped;
}
