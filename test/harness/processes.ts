/**
 * Child processes of the test harness (etcd, kube-apiserver, kube-controller-manager, ...).
 *
 * Each process writes stdout and stderr to its own log file, whose tail goes into every error
 * about it. Each is registered with the shutdown hooks (SIGTERM on signals; at exit SIGKILL,
 * then up to 2 s for it to be gone, so its work dir is not removed under its last write)
 * and, where util-linux `setpriv` exists, started with PR_SET_PDEATHSIG=SIGKILL, so it dies
 * with the thread that started it even when Node itself is killed with SIGKILL.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { pollUntil } from './poll.js';
import { waitUntilGoneSync } from './process-table.js';
import { onShutdown } from './shutdown.js';

export interface ProcessSpec {
  /** Short name used in errors and log lines, e.g. `etcd`. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly logPath: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

const SETPRIV = '/usr/bin/setpriv';
const STOP_GRACE_MS = 10_000;
/** How long the exit path waits for a SIGKILLed process to be gone. */
const KILL_WAIT_MS = 2_000;

/** A running child process; `exited` resolves when it ends, whoever ended it. */
export class HarnessProcess {
  #exitStatus: ExitStatus | undefined;
  readonly exited: Promise<ExitStatus>;

  constructor(
    readonly name: string,
    readonly pid: number,
    readonly logPath: string,
    exited: Promise<ExitStatus>,
  ) {
    this.exited = exited.then((status) => {
      this.#exitStatus = status;
      return status;
    });
  }

  get hasExited(): boolean {
    return this.#exitStatus !== undefined;
  }

  /** `exited with code 1` / `killed by SIGKILL` / `still running`. */
  describeState(): string {
    const status = this.#exitStatus;
    if (status === undefined) return 'still running';
    return status.signal !== null ? `killed by ${status.signal}` : `exited with code ${status.code}`;
  }

  /** The last `lines` lines of the process's log, for error messages. */
  async logTail(lines = 30): Promise<string> {
    return readLogTail(this.logPath, lines);
  }

  /** An error naming the process, what went wrong, its state, its log file and the log's tail. */
  async failure(what: string): Promise<Error> {
    const tail = await this.logTail();
    return new Error(
      `${this.name} (pid ${this.pid}) ${what}; it is ${this.describeState()}. ` +
        `Last lines of ${this.logPath}:\n${indent(tail)}`,
    );
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    if (this.hasExited) return;
    signal(this.pid, 'SIGTERM');
    const timer = setTimeout(() => signal(this.pid, 'SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Starts a process; rejects (with the log tail) if it cannot be spawned at all. */
export async function startProcess(spec: ProcessSpec): Promise<HarnessProcess> {
  const log = await open(spec.logPath, 'a');
  const [command, args] = existsSync(SETPRIV)
    ? [SETPRIV, ['--pdeathsig', 'KILL', '--', spec.command, ...spec.args]]
    : [spec.command, [...spec.args]];
  const child = spawn(command, args, {
    cwd: spec.cwd,
    env: spec.env ?? process.env,
    stdio: ['ignore', log.fd, log.fd],
    // Own process group: a terminal's Ctrl-C reaches only Node, which stops children in order.
    detached: true,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
  } catch (error) {
    throw new Error(`could not start ${spec.name} (${spec.command}): ${(error as Error).message}`, { cause: error });
  } finally {
    await log.close();
  }
  const pid = child.pid as number;
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, exitSignal) => resolve({ code, signal: exitSignal }));
  });
  const harnessProcess = new HarnessProcess(spec.name, pid, spec.logPath, exited);
  const unregister = onShutdown({
    name: `${spec.name} (pid ${pid})`,
    stop: () => harnessProcess.stop(),
    stopNow: () => {
      signal(pid, 'SIGKILL');
      // Gone before the work-dir hook (run after this one) removes the files it may still be writing.
      waitUntilGoneSync([pid], KILL_WAIT_MS);
    },
  });
  void harnessProcess.exited.then(unregister);
  return harnessProcess;
}

export interface ReadinessCheck<T> {
  /** What "ready" means, for errors: `GET /readyz returns 200`. */
  readonly description: string;
  /** Returns a value once ready, `undefined` (or throws) while not yet. */
  readonly probe: () => Promise<T | undefined>;
  readonly timeoutMs: number;
  readonly intervalMs?: number;
}

/**
 * Polls until `process` is ready. If it dies first or the deadline passes, stops it and throws an
 * error naming the process, the check, and the tail of its log.
 */
export async function waitUntilReady<T>(process: HarnessProcess, check: ReadinessCheck<T>): Promise<T> {
  try {
    return await pollUntil(check.description, check.probe, {
      timeoutMs: check.timeoutMs,
      intervalMs: check.intervalMs ?? 200,
      abortIf: async () => (process.hasExited ? new Error(`exited before ${check.description}`) : undefined),
    });
  } catch (error) {
    await process.stop();
    throw await process.failure(`was not ready: ${(error as Error).message}`);
  }
}

/** The last `lines` lines of a log file (reads at most its last 64 KiB). */
export async function readLogTail(path: string, lines: number): Promise<string> {
  let file: Awaited<ReturnType<typeof open>> | undefined;
  try {
    file = await open(path, 'r');
    const { size } = await file.stat();
    const length = Math.min(size, 64 * 1024);
    const buffer = Buffer.alloc(length);
    await file.read(buffer, 0, length, size - length);
    const text = buffer.toString('utf8').trimEnd();
    return text === '' ? '(empty log)' : text.split('\n').slice(-lines).join('\n');
  } catch (error) {
    return `(log unreadable: ${(error as Error).message})`;
  } finally {
    await file?.close();
  }
}

/** True while a process with this id exists (EPERM means it exists but is not ours). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // ESRCH: the process is already gone, which is what the caller wanted.
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}
