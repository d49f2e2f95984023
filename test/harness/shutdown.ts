/**
 * Process-wide teardown for the test harness.
 *
 * Anything that owns an outside resource (a child process, a work directory) registers a hook
 * here. Hooks run once, newest first, on whichever comes first:
 * - the owner's own stop (it unregisters its hook);
 * - SIGINT or SIGTERM: every hook's async `stop`, then the process exits with 128 + signal;
 *   a second signal exits at once;
 * - process exit (normal end, uncaught error, `process.exit`): every hook's synchronous
 *   `stopNow`, because nothing asynchronous runs after 'exit'.
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

const hooks: ShutdownHook[] = [];
let handlersInstalled = false;
let signalled = false;

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
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      void stopAllOnSignal(signal);
    });
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

async function stopAllOnSignal(signal: 'SIGINT' | 'SIGTERM'): Promise<void> {
  const exitCode = 128 + (signal === 'SIGINT' ? 2 : 15);
  if (signalled) process.exit(exitCode);
  signalled = true;
  while (hooks.length > 0) {
    // Stays registered while it stops, so a second signal (exit → stopAllNow) still finishes it.
    const hook = hooks.at(-1) as ShutdownHook;
    try {
      await hook.stop();
    } catch (error) {
      process.stderr.write(`harness: could not stop ${hook.name} on ${signal}: ${String(error)}\n`);
      hook.stopNow();
    }
    hooks.splice(hooks.indexOf(hook), 1);
  }
  process.exit(exitCode);
}
