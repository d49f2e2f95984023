// One container of a pod incarnation: pull its image, resolve its environment, run its process,
// probe it, and restart it per the pod's restartPolicy with exponential back-off (scaled down
// from the kubelet's 10 s → 5 min to 1 s → 30 s, reset after 60 s of running). Every change of
// its state is reported through `onChange` so the pod worker can publish the pod status.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { V1Container, V1Pod, V1Probe } from '@kubernetes/client-node';
import { repoPath } from '../repo.js';
import { nodeWithTsx, type PodApiAccess, SERVICE_ACCOUNT_DIR } from './api-access.js';
import { ContainerConfigError, type EnvSources, expandReferences, resolveContainerEnv } from './env.js';
import type { EventType } from './events.js';
import {
  type ImageStore,
  isLocalOperatorImage,
  versionForTag,
  type ZooKeeperVersions,
  zookeeperImageTag,
} from './images.js';
import type { Logger } from './log.js';
import { type ProbeOutcome, runProbe, runProbeLoop } from './probes.js';
import { ContainerProcess, execInContainer, logTail, type ProcessUser } from './process.js';
import { apiTime, type ContainerStatus, waitingContainerStatus } from './status.js';
import { mapContainerPath, type PodVolumes } from './volumes.js';

const INITIAL_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;
const BACKOFF_RESET_AFTER_MS = 2 * MAX_BACKOFF_MS;
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** The Dockerfile's `USER 1000:1000`. */
const OPERATOR_IMAGE_USER: ProcessUser = { uid: 1000, gid: 1000, groups: [] };

/** What a container needs from its pod incarnation. */
export interface ContainerEnvironment {
  pod(): V1Pod;
  netns: string;
  hostname: string;
  podIP: string;
  hostIP: string;
  user: ProcessUser | undefined;
  volumes: PodVolumes;
  logsDir: string;
  images: ImageStore;
  versions: ZooKeeperVersions;
  envSources: EnvSources;
  /** The pod's token and API relay, when it runs the operator. */
  apiAccess: PodApiAccess | undefined;
  event(type: EventType, reason: string, message: string): void;
  onChange(): void;
  logger: Logger;
}

function backoffDelay(failures: number): number {
  return Math.min(MAX_BACKOFF_MS, INITIAL_BACKOFF_MS * 2 ** Math.max(0, failures - 1));
}

function shouldRestart(policy: string | undefined, exitCode: number): boolean {
  if (policy === 'Never') return false;
  if (policy === 'OnFailure') return exitCode !== 0;
  return true;
}

/** A container's process, ready to start. */
interface Prepared {
  argv: string[];
  env: Record<string, string>;
  user: ProcessUser | undefined;
}

/** What a pulled image provides: an id for the status, its entrypoint, its PATH and USER. */
interface PulledImage {
  id: string;
  entrypoint: string[];
  path: string;
  /** The image's USER, used when the pod sets no runAsUser. */
  user?: ProcessUser;
}

export class ContainerRunner {
  status: ContainerStatus;
  private stopping = false;
  private readonly wake = new AbortController();
  private process: ContainerProcess | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly container: V1Container,
    private readonly env: ContainerEnvironment,
  ) {
    this.status = waitingContainerStatus(container, 'ContainerCreating');
  }

  private get podKey(): string {
    const pod = this.env.pod();
    return `${pod.metadata?.namespace}/${pod.metadata?.name}`;
  }

  private update(change: Partial<ContainerStatus>): void {
    this.status = { ...this.status, ...change };
    this.env.onChange();
  }

  start(): void {
    this.loop = this.run().catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      this.env.logger.error('container loop failed', {
        pod: this.podKey,
        container: this.container.name,
        error: message,
      });
      this.update({ state: { waiting: { reason: 'RunContainerError', message } }, ready: false });
    });
  }

  /** Stops restarting, then SIGTERM → `graceSeconds` → SIGKILL the running process. */
  async stop(graceSeconds: number): Promise<void> {
    this.stopping = true;
    this.wake.abort();
    await this.process?.stop(graceSeconds);
    await this.loop;
  }

  private async sleep(ms: number): Promise<void> {
    await delay(ms, undefined, { signal: this.wake.signal }).catch(() => undefined);
  }

  /**
   * What the image runs: a ZooKeeper distribution, or the local build of the operator with its
   * entrypoint; or why there is nothing to run (ErrImagePull).
   */
  private async pullImage(): Promise<PulledImage | { error: string }> {
    const image = this.container.image ?? '';
    if (isLocalOperatorImage(image)) {
      // The Dockerfile's ENTRYPOINT runs dist/main.js; the checkout's source is the same program.
      return {
        id: 'zookeeper-operator-local',
        entrypoint: [...nodeWithTsx(), repoPath('src/main.ts')],
        path: SYSTEM_PATH,
        user: OPERATOR_IMAGE_USER,
      };
    }
    const tag = zookeeperImageTag(image);
    const version = tag === undefined ? undefined : versionForTag(tag, this.env.versions);
    if (!version) {
      return {
        error: `image ${image}: no ZooKeeper distribution for this tag (have ${this.env.versions.available.join(', ')})`,
      };
    }
    try {
      const distDir = await this.env.images.pull(version);
      return { id: `zookeeper-${version}`, entrypoint: [], path: `${join(distDir, 'bin')}:${SYSTEM_PATH}` };
    } catch (error) {
      return { error: `image ${image}: ${(error as Error).message}` };
    }
  }

  private async run(): Promise<void> {
    let pullFailures = 0;
    let crashes = 0;
    let runs = 0;
    while (!this.stopping) {
      const pulled = await this.pullImage();
      if ('error' in pulled) {
        pullFailures += 1;
        this.update({ state: { waiting: { reason: 'ErrImagePull', message: pulled.error } } });
        this.env.event('Warning', 'Failed', `Failed to pull image "${this.container.image}": ${pulled.error}`);
        await this.sleep(500);
        if (this.stopping) return;
        const wait = backoffDelay(pullFailures);
        this.update({
          state: {
            waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${this.container.image}"` },
          },
        });
        this.env.event('Normal', 'BackOff', `Back-off pulling image "${this.container.image}"`);
        await this.sleep(wait);
        continue;
      }
      this.status.imageID = `process-kubelet://${pulled.id}`;
      pullFailures = 0;
      this.env.event('Normal', 'Pulled', `Container image "${this.container.image}" already present on machine`);
      let prepared: Prepared;
      try {
        prepared = await this.prepare(pulled);
      } catch (error) {
        // Like a kubelet, retry: the missing Secret or key may appear, an API error may pass.
        const reason = error instanceof ContainerConfigError ? 'CreateContainerConfigError' : 'CreateContainerError';
        const message = error instanceof Error ? error.message : String(error);
        this.update({ state: { waiting: { reason, message } } });
        this.env.event('Warning', 'Failed', `Error: ${message}`);
        await this.sleep(backoffDelay(++crashes));
        continue;
      }
      if (this.stopping) return;
      const exit = await this.runOnce(prepared, runs);
      runs += 1;
      if (this.stopping) return;
      crashes = exit.ranMs >= BACKOFF_RESET_AFTER_MS ? 1 : crashes + 1;
      if (!shouldRestart(this.env.pod().spec?.restartPolicy, exit.exitCode)) {
        this.update({ state: this.status.lastState as ContainerStatus['state'], lastState: {} });
        return;
      }
      const wait = backoffDelay(crashes);
      const message = `back-off ${Math.round(wait / 1000)}s restarting failed container=${this.container.name} pod=${this.env.pod().metadata?.name}`;
      this.update({ state: { waiting: { reason: 'CrashLoopBackOff', message } } });
      this.env.event(
        'Warning',
        'BackOff',
        `Back-off restarting failed container ${this.container.name}; last log lines:\n${exit.tail}`,
      );
      await this.sleep(wait);
    }
  }

  /** The command line and environment with container paths mapped to volume directories. */
  private async prepare(image: PulledImage): Promise<Prepared> {
    const entrypoint = (this.container.command ?? []).length > 0 ? (this.container.command ?? []) : image.entrypoint;
    if (entrypoint.length === 0) {
      throw new ContainerConfigError(
        `container ${this.container.name} has no command; the process kubelet runs no ZooKeeper image entrypoint`,
      );
    }
    const command = [...entrypoint, ...(this.container.args ?? [])];
    const mounts = this.env.volumes.mountsOf(this.container);
    const specEnv = await resolveContainerEnv(
      this.env.pod(),
      this.container,
      { podIP: this.env.podIP, hostIP: this.env.hostIP },
      this.env.envSources,
    );
    const env: Record<string, string> = {
      PATH: image.path,
      HOSTNAME: this.env.hostname,
      // As for a user without a home in an image: no ~/.kube/config of the host's is found.
      HOME: '/nonexistent',
      ...this.env.apiAccess?.env,
    };
    for (const [name, value] of Object.entries(specEnv)) env[name] = mapContainerPath(value, mounts);
    const argv = command.map((arg) => mapContainerPath(expandReferences(arg, specEnv), mounts));
    return { argv, env, user: this.env.user ?? image.user };
  }

  /** Runs the process once, with its probes; resolves when it has exited. */
  private async runOnce(
    prepared: Prepared,
    previousRuns: number,
  ): Promise<{ exitCode: number; ranMs: number; tail: string }> {
    const logDir = join(this.env.logsDir, this.container.name);
    await mkdir(logDir, { recursive: true });
    const workingDir = mapContainerPath(this.container.workingDir ?? '/', this.env.volumes.mountsOf(this.container));
    this.env.event('Normal', 'Created', `Created container ${this.container.name}`);
    const started = new Date();
    const process = await ContainerProcess.start({
      netns: this.env.netns,
      hostname: this.env.hostname,
      argv: prepared.argv,
      env: prepared.env,
      user: prepared.user,
      workingDir,
      logFile: join(logDir, `${previousRuns}.log`),
      binds: this.env.apiAccess ? [{ source: this.env.apiAccess.tokenDir, target: SERVICE_ACCOUNT_DIR }] : [],
    });
    this.process = process;
    if (this.stopping) void process.stop(0);
    const containerID = `process://${this.env.netns}/${process.pid}`;
    this.env.logger.info('container started', {
      pod: this.podKey,
      container: this.container.name,
      pid: process.pid,
      argv: prepared.argv,
    });
    this.env.event('Normal', 'Started', `Started container ${this.container.name}`);
    this.update({
      restartCount: previousRuns,
      containerID,
      state: { running: { startedAt: apiTime(started) } },
      started: false,
      ready: false,
    });
    const probing = new AbortController();
    const probes = this.runProbes(process, prepared, probing.signal);
    const exit = await process.exited;
    probing.abort();
    await probes;
    this.process = undefined;
    const finished = new Date();
    const tail = await logTail(process.logFile);
    this.env.logger.info('container exited', { pod: this.podKey, container: this.container.name, ...exit, tail });
    this.update({
      ready: false,
      started: false,
      lastState: {
        terminated: {
          exitCode: exit.exitCode,
          reason: exit.exitCode === 0 ? 'Completed' : 'Error',
          ...(exit.signal ? { message: `killed by ${exit.signal}` } : {}),
          startedAt: apiTime(started),
          finishedAt: apiTime(finished),
          containerID,
        },
      },
    });
    return { exitCode: exit.exitCode, ranMs: finished.getTime() - started.getTime(), tail };
  }

  private execProbe(process: ContainerProcess, { env, user }: Prepared) {
    const mounts = this.env.volumes.mountsOf(this.container);
    return async (command: readonly string[], timeoutSeconds: number): Promise<ProbeOutcome> => {
      const argv = command.map((arg) => mapContainerPath(arg, mounts));
      const result = await execInContainer(process.pid, user, argv, env, timeoutSeconds);
      if (result.exitCode === 0) return { success: true };
      if (result.timedOut) return { success: false, message: `command ${JSON.stringify(command)} timed out` };
      return {
        success: false,
        message: `command ${JSON.stringify(command)} exited ${result.exitCode}: ${result.output}`,
      };
    };
  }

  /** Startup, then liveness and readiness, as a kubelet sequences them. */
  private async runProbes(process: ContainerProcess, prepared: Prepared, signal: AbortSignal): Promise<void> {
    const target = { podIP: this.env.podIP, container: this.container, exec: this.execProbe(process, prepared) };
    const attempt = (probe: V1Probe) => () => runProbe(probe, target);
    const grace = (probe: V1Probe): number =>
      probe.terminationGracePeriodSeconds ?? this.env.pod().spec?.terminationGracePeriodSeconds ?? 30;
    const kill = (kind: string, probe: V1Probe, message: string): void => {
      this.env.event(
        'Normal',
        'Killing',
        `Container ${this.container.name} failed ${kind} probe, will be restarted: ${message}`,
      );
      void process.stop(grace(probe));
    };
    const unhealthy = (kind: string) => (message: string) =>
      this.env.event('Warning', 'Unhealthy', `${kind} probe failed: ${message}`);

    const startup = this.container.startupProbe;
    if (startup) {
      await runProbeLoop(
        startup,
        attempt(startup),
        {
          failedAttempt: unhealthy('Startup'),
          healthy: () => undefined,
          unhealthy: (message) => kill('startup', startup, message),
        },
        signal,
        true,
      );
      if (signal.aborted) return;
    }
    this.update({ started: true, ready: !this.container.readinessProbe });
    const loops: Promise<void>[] = [];
    const liveness = this.container.livenessProbe;
    if (liveness) {
      loops.push(
        runProbeLoop(
          liveness,
          attempt(liveness),
          {
            failedAttempt: unhealthy('Liveness'),
            healthy: () => undefined,
            unhealthy: (message) => kill('liveness', liveness, message),
          },
          signal,
          false,
        ),
      );
    }
    const readiness = this.container.readinessProbe;
    if (readiness) {
      loops.push(
        runProbeLoop(
          readiness,
          attempt(readiness),
          {
            failedAttempt: unhealthy('Readiness'),
            healthy: () => this.update({ ready: true }),
            unhealthy: () => this.update({ ready: false }),
          },
          signal,
          false,
        ),
      );
    }
    await Promise.all(loops);
  }
}
