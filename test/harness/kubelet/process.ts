// Container processes: a container runs as a process group inside its pod's network namespace
// (`ip netns exec`, which also gives it a mount namespace of its own, where bind mounts such as
// the service-account token stay private) and a UTS namespace whose hostname is the pod's (`unshare --uts`),
// optionally as the pod's non-root user (`setpriv`), with stdout and stderr appended to a log
// file. Exec probes enter the same namespaces (`nsenter`) of the running container.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { constants } from 'node:os';

/** The identity a container process runs as (securityContext runAsUser/runAsGroup/fsGroup). */
export interface ProcessUser {
  uid: number;
  gid: number;
  groups: number[];
}

export interface ContainerProcessSpec {
  netns: string;
  hostname: string;
  argv: string[];
  env: Record<string, string>;
  user: ProcessUser | undefined;
  workingDir: string;
  logFile: string;
  /** Host directories bind-mounted at container paths (in the mount namespace `ip netns exec` makes). */
  binds?: readonly { source: string; target: string }[];
}

export interface ProcessExit {
  exitCode: number;
  signal: string | undefined;
}

function asUser(user: ProcessUser | undefined, argv: readonly string[]): string[] {
  if (!user) return [...argv];
  const groups = user.groups.length > 0 ? [`--groups=${user.groups.join(',')}`] : ['--clear-groups'];
  return ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, ...groups, '--', ...argv];
}

/**
 * Shell commands that bind-mount each source at its target; paths are the kubelet's own. A
 * container with binds gets a /run of its own (a tmpfs, as in a container), so the mount points
 * made under it (/var/run/secrets/...) never appear on the host.
 */
function mountBinds(binds: readonly { source: string; target: string }[]): string {
  if (binds.length === 0) return '';
  const quote = (path: string) => `'${path.replaceAll("'", "'\\''")}'`;
  const mounts = binds.map(
    ({ source, target }) => `mkdir -p -- ${quote(target)} && mount --bind -- ${quote(source)} ${quote(target)} && `,
  );
  return `mount -t tmpfs -o mode=755 tmpfs /run && ${mounts.join('')}`;
}

function exitOf(code: number | null, signal: NodeJS.Signals | null): ProcessExit {
  if (signal) return { exitCode: 128 + (constants.signals[signal] ?? 0), signal };
  return { exitCode: code ?? 0, signal: undefined };
}

export class ContainerProcess {
  private constructor(
    readonly pid: number,
    readonly logFile: string,
    readonly exited: Promise<ProcessExit>,
  ) {}

  /** Starts the container's command; resolves once the process exists. */
  static start(spec: ContainerProcessSpec): Promise<ContainerProcess> {
    const argv = [
      'netns',
      'exec',
      spec.netns,
      'unshare',
      '--uts',
      '--',
      'bash',
      '-c',
      `${mountBinds(spec.binds ?? [])}hostname -- "$1" && cd -- "$2" && shift 2 && exec "$@"`,
      'pod-init',
      spec.hostname,
      spec.workingDir,
      ...asUser(spec.user, spec.argv),
    ];
    const log = openSync(spec.logFile, 'a');
    try {
      const child = spawn('ip', argv, { env: spec.env, detached: true, stdio: ['ignore', log, log] });
      const exited = new Promise<ProcessExit>((resolve) => {
        child.on('exit', (code, signal) => resolve(exitOf(code, signal)));
      });
      return new Promise((resolve, reject) => {
        child.once('error', (error) =>
          reject(new Error(`starting ${spec.argv.join(' ')} in ${spec.netns}: ${error.message}`)),
        );
        child.once('spawn', () => resolve(new ContainerProcess(child.pid ?? 0, spec.logFile, exited)));
      });
    } finally {
      closeSync(log);
    }
  }

  /** Signals the whole process group; a group that is already gone is fine. */
  signal(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch {
      // ESRCH: every process of the group has exited already.
    }
  }

  /** SIGTERM, then SIGKILL after `graceSeconds` if the process has not exited. */
  async stop(graceSeconds: number): Promise<ProcessExit> {
    this.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.signal('SIGKILL');
        resolve();
      }, graceSeconds * 1000);
    });
    await Promise.race([this.exited, killed]);
    clearTimeout(timer);
    const exit = await this.exited;
    this.signal('SIGKILL');
    return exit;
  }
}

export interface ExecResult {
  exitCode: number | undefined;
  timedOut: boolean;
  output: string;
}

/** Runs `argv` in the namespaces (net, uts, mount) of process `pid`, as `user`, with a timeout. */
export function execInContainer(
  pid: number,
  user: ProcessUser | undefined,
  argv: readonly string[],
  env: Record<string, string>,
  timeoutSeconds: number,
): Promise<ExecResult> {
  const command = ['--target', String(pid), '--net', '--uts', '--mount', '--', ...asUser(user, argv)];
  return new Promise((resolve) => {
    const child = spawn('nsenter', command, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer): void => {
      if (output.length < 4096) output += chunk.toString('utf8');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-(child.pid ?? 0), 'SIGKILL');
      } catch {
        // ESRCH: it exited just now.
      }
    }, timeoutSeconds * 1000);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ exitCode: undefined, timedOut: false, output: `nsenter: ${error.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ exitCode: code ?? undefined, timedOut, output: output.trim() });
    });
  });
}

/** The last `lines` lines of a container log, for error messages and Events. */
export async function logTail(logFile: string, lines = 10): Promise<string> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
