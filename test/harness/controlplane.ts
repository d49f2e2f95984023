/**
 * A real, local Kubernetes control plane for integration and end-to-end tests (no Docker):
 * etcd, kube-apiserver, kube-controller-manager and kube-scheduler as child processes on
 * 127.0.0.1, with ports picked at run time so several test processes can run side by side.
 *
 * Start-up order: certificates, etcd, kube-apiserver (ready on /readyz), the repo's CRDs
 * (Established), then kube-controller-manager, so the garbage collector knows the CRDs from its
 * first discovery (it re-discovers only every 30 s), then kube-scheduler (ready on /readyz).
 * Nodes come from the process kubelet (kubelet/index.ts); until it registers them, the
 * scheduler reports every pod unschedulable.
 *
 * Every child process dies on `stop()`, on a start-up failure, on process exit and on
 * SIGINT/SIGTERM (see shutdown.ts). The work dir holds certificates, kubeconfigs, etcd's data
 * and one log per process (`etcd.log`, `kube-apiserver.log`, `kube-controller-manager.log`,
 * `kube-scheduler.log`); a temp dir made here is removed on stop, or when its thread dies,
 * unless KEEP_TEST_DIRS=1.
 *
 * `restartKubeApiserver()` stops kube-apiserver (SIGTERM) and starts it again on the same port
 * with the same etcd and certificates, for tests of what clients do across an API outage. The
 * new process takes the old one's place in the stop order; like every child it has its own
 * exit hook, so a crash or Ctrl-C in the middle of a restart leaves no process behind.
 *
 * kube-controller-manager and kube-scheduler are supervised, as the kubelet supervises them as
 * static pods in a real cluster: one that exits while the control plane runs is started again
 * (after 1 s, doubling up to 10 s), in its place in the stop order, and the restart is logged
 * and listed by `supervisedRestarts()`. They do exit by design: kube-scheduler v1.36 exits when
 * a pod informer that relists after an API outage delivers a bound pod and its same-named
 * replacement as one update ("Scheduler cache is corrupted", kubernetes/kubernetes#141255),
 * and a scheduler nobody restarts leaves every new pod Pending for good.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import { type ControlPlaneBinaries, locateBinaries } from './binaries.js';
import {
  type CertificateFiles,
  createCertificateAuthority,
  createServiceAccountKeyPair,
  issueClientCertificate,
  issueServingCertificate,
} from './certs.js';
import { installCrds } from './crds.js';
import { startEtcd } from './etcd.js';
import { type ControlPlanePki, startKubeApiserver } from './kube-apiserver.js';
import { startKubeControllerManager } from './kube-controller-manager.js';
import { createKubeSchedulerCredentials, SCHEDULER_USER, startKubeScheduler } from './kube-scheduler.js';
import { loadKubeConfig, mintClientKubeconfig, writeKubeconfig } from './kubeconfig.js';
import { withPortRetries } from './ports.js';
import type { HarnessProcess } from './processes.js';
import { repoPath } from './repo.js';
import { onShutdown } from './shutdown.js';
import { createTemporaryWorkDir, givenWorkDir } from './work-dir.js';

export interface ControlPlaneOptions {
  /** Where certificates, data and logs go. Default: a fresh temp dir (then removed on stop). A given dir is kept. */
  readonly workDir?: string;
  /** Receives progress lines with timings; default: discarded. */
  readonly log?: (line: string) => void;
  /** CRDs installed before the controllers start. Default: the repo's `crds/`; `null`: none. */
  readonly crdDirectory?: string | null;
  /** Extra kube-apiserver flags, e.g. `--enable-admission-plugins=OwnerReferencesPermissionEnforcement`. */
  readonly apiserverArgs?: readonly string[];
}

/** The JSON-serialisable facts another process needs to use a running control plane. */
export interface ControlPlaneDescription {
  /** `https://127.0.0.1:<port>` */
  readonly server: string;
  /** Admin (system:masters) kubeconfig with embedded certificates. */
  readonly kubeconfigPath: string;
  readonly workDir: string;
  readonly binaries: ControlPlaneBinaries;
  /** Signs client certificates the apiserver accepts; `mintKubeconfig` uses it. */
  readonly certificateAuthority: CertificateFiles;
}

export interface ControlPlane extends ControlPlaneDescription {
  /** Admin KubeConfig. */
  readonly kubeConfig: KubeConfig;
  /**
   * A kubeconfig authenticating as `user` in `groups` (e.g. `system:serviceaccount:zk-system:zookeeper-operator`,
   * `['system:serviceaccounts']`), so code can run under exactly the RBAC it is granted. Returns its path.
   */
  mintKubeconfig(user: string, groups: readonly string[]): Promise<string>;
  describe(): ControlPlaneDescription;
  /**
   * Stops kube-apiserver, keeps it down `downForMs` (default 0), starts it again on the same
   * port (same etcd, same certificates) and resolves once it is ready again, with when it
   * stopped and when it was ready. Only the process that started the control plane can restart it.
   */
  restartKubeApiserver(options?: { downForMs?: number }): Promise<ApiserverRestart>;
  /**
   * The times a supervised component (kube-controller-manager, kube-scheduler) exited on its own
   * and was started again, oldest first. Only the process that started the control plane knows them.
   */
  supervisedRestarts(): readonly SupervisedRestart[];
  /** Stops every process (newest first) and removes a temp work dir; idempotent. */
  stop(): Promise<void>;
}

export interface SupervisedRestart {
  /** `kube-controller-manager` or `kube-scheduler`. */
  readonly component: string;
  /** `Date.now()` when it exited, and how (`exited with code 1`). */
  readonly exitedAt: number;
  readonly exit: string;
  /** `Date.now()` when the new process was ready. */
  readonly readyAt: number;
}

export interface ApiserverRestart {
  /** `Date.now()` when the old process had exited. */
  readonly stoppedAt: number;
  /** `Date.now()` when the new one answered /readyz with 200. */
  readonly readyAt: number;
}

/** A port just released may be taken by an outgoing connection before the new process binds it. */
const RESTART_PORT_ATTEMPTS = 5;
const RESTART_PORT_RETRY_MS = 1_000;
/** Back-off before a supervised component is started again: 1 s, doubling up to 10 s. */
const SUPERVISED_RESTART_FIRST_MS = 1_000;
const SUPERVISED_RESTART_MAX_MS = 10_000;

const SERVING_ALT_NAMES = {
  ipAddresses: ['127.0.0.1', '10.0.0.1'],
  dnsNames: [
    'localhost',
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    'kubernetes.default.svc.cluster.local',
  ],
};

/** Starts a control plane and resolves once kube-controller-manager's controllers run and kube-scheduler schedules. */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  const binaries = await locateBinaries();
  const ownWorkDir =
    options.workDir === undefined ? await createTemporaryWorkDir('zkop-controlplane-') : givenWorkDir(options.workDir);
  const workDir = ownWorkDir.path;
  const removeWorkDir = ownWorkDir.removedOnStop;
  const processes: HarnessProcess[] = [];

  let stopping: Promise<void> | undefined;
  let restarting: Promise<ApiserverRestart> | undefined;
  /** Supervised restarts under way; `stop()` waits for them (their back-off ends when it begins). */
  const supervising = new Set<Promise<void>>();
  const stopRequested = new AbortController();
  const restarts: SupervisedRestart[] = [];
  /** A process taken out of the stop order (an apiserver being restarted) ends on purpose too. */
  const exitExpected = (child: HarnessProcess) => stopping !== undefined || !processes.includes(child);
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      stopRequested.abort();
      // A restart under way would otherwise add its new process after this loop has run.
      await restarting?.catch(() => undefined);
      await Promise.all(supervising);
      for (const child of [...processes].reverse()) await child.stop();
      await ownWorkDir.remove();
      // Only now: an exit while this runs still finds every hook below registered.
      unregister();
    })();
    return stopping;
  };
  // On exit there is nothing left for this hook to do: each child process has its own
  // SIGKILL-at-exit hook, and the work dir its own removal (work-dir.ts), registered before the
  // processes and so run after them. This one gives signals a stop in order.
  const unregister = onShutdown({
    name: `control plane in ${workDir}`,
    stop,
    stopNow: () => {},
  });

  /**
   * Puts the process `start` starts into the stop order, and starts it again whenever it exits
   * while the control plane runs (see the header).
   */
  const supervise = async (component: string, start: () => Promise<HarnessProcess>): Promise<void> => {
    const watch = (child: HarnessProcess, failures: number) => {
      void child.exited.then(async () => {
        if (exitExpected(child)) return;
        const exitedAt = Date.now();
        const exit = child.describeState();
        log(`${(await child.failure('stopped unexpectedly')).message}\nstarting ${component} again`);
        const restart = (async () => {
          for (let attempt = failures; ; attempt++) {
            const backOffMs = Math.min(SUPERVISED_RESTART_FIRST_MS * 2 ** attempt, SUPERVISED_RESTART_MAX_MS);
            await delay(backOffMs, undefined, { signal: stopRequested.signal }).catch(() => undefined);
            if (stopping !== undefined) return;
            let replacement: HarnessProcess;
            try {
              replacement = await start();
            } catch (error) {
              // Not ready (the apiserver may be down): the start stopped it; try again after a longer back-off.
              log(`${component} did not start again: ${(error as Error).message}`);
              continue;
            }
            if (stopping !== undefined) {
              await replacement.stop();
              return;
            }
            // In the exited process's place in the stop order.
            processes.splice(processes.indexOf(child), 1, replacement);
            restarts.push({ component, exitedAt, exit, readyAt: Date.now() });
            log(`${component} started again (pid ${replacement.pid}), ${Date.now() - exitedAt} ms after it ${exit}`);
            watch(replacement, attempt + 1);
            return;
          }
        })();
        supervising.add(restart);
        await restart;
        supervising.delete(restart);
      });
    };
    const first = await start();
    processes.push(first);
    watch(first, 0);
  };

  try {
    const pki = await createPki(join(workDir, 'pki'));
    log(`certificates written to ${join(workDir, 'pki')} (${elapsed()})`);

    const etcd = await withPortRetries(() => startEtcd(binaries.etcd, workDir));
    processes.push(etcd.process);
    log(`etcd ${binaries.versions.etcd} healthy at ${etcd.clientUrl} (${elapsed()})`);

    let apiserver = await withPortRetries(() =>
      startKubeApiserver(binaries.kubeApiserver, workDir, etcd.clientUrl, pki, options.apiserverArgs),
    );
    processes.push(apiserver.process);
    const port = Number(new URL(apiserver.server).port);
    const restartKubeApiserver = async (downForMs: number): Promise<ApiserverRestart> => {
      const old = apiserver.process;
      // Out of the stop order first, so its exit is not reported as unexpected.
      processes.splice(processes.indexOf(old), 1);
      await old.stop();
      const stoppedAt = Date.now();
      await new Promise((resolve) => setTimeout(resolve, downForMs));
      for (let attempt = 1; ; attempt++) {
        try {
          apiserver = await startKubeApiserver(
            binaries.kubeApiserver,
            workDir,
            etcd.clientUrl,
            pki,
            options.apiserverArgs,
            port,
          );
          break;
        } catch (error) {
          const portClash = /address already in use/i.test((error as Error).message);
          if (!portClash || attempt >= RESTART_PORT_ATTEMPTS) throw error;
          await new Promise((resolve) => setTimeout(resolve, RESTART_PORT_RETRY_MS));
        }
      }
      // Back in kube-apiserver's place: stopped after the controllers that use it, before etcd.
      processes.splice(processes.indexOf(etcd.process) + 1, 0, apiserver.process);
      const restarted = apiserver.process;
      reportUnexpectedExit(restarted, () => exitExpected(restarted), log);
      log(`kube-apiserver restarted on ${apiserver.server}`);
      return { stoppedAt, readyAt: Date.now() };
    };
    log(`kube-apiserver ${binaries.versions.kubernetes} ready at ${apiserver.server} (${elapsed()})`);

    const kubeconfigPath = await writeKubeconfig(join(workDir, 'admin.kubeconfig'), {
      server: apiserver.server,
      caCertPath: pki.ca.certPath,
      client: pki.adminClient,
      userEntry: 'admin',
    });
    const kubeConfig = loadKubeConfig(kubeconfigPath);

    const crdDirectory = options.crdDirectory === undefined ? repoPath('crds') : options.crdDirectory;
    if (crdDirectory !== null) {
      const crds = await installCrds(kubeConfig, crdDirectory);
      log(
        `${crds.length} CRD(s) from ${crdDirectory} established${crds.length ? `: ${crds.join(', ')}` : ''} (${elapsed()})`,
      );
    }

    await supervise('kube-controller-manager', () =>
      startKubeControllerManager(binaries.kubeControllerManager, workDir, kubeconfigPath, kubeConfig, pki),
    );
    log(`kube-controller-manager running (${elapsed()})`);

    const schedulerCredentials = await createKubeSchedulerCredentials(
      pki.ca,
      join(workDir, 'pki'),
      workDir,
      apiserver.server,
    );
    await supervise('kube-scheduler', () =>
      withPortRetries(() => startKubeScheduler(binaries.kubeScheduler, workDir, pki.ca, schedulerCredentials)),
    );
    log(`kube-scheduler ready, running as ${SCHEDULER_USER} (${elapsed()})`);
    // etcd and kube-apiserver; the supervised components report their own exits.
    for (const child of [etcd.process, apiserver.process]) reportUnexpectedExit(child, () => exitExpected(child), log);

    const description: ControlPlaneDescription = {
      server: apiserver.server,
      kubeconfigPath,
      workDir,
      binaries,
      certificateAuthority: pki.ca,
    };
    return {
      ...description,
      kubeConfig,
      mintKubeconfig: (user, groups) =>
        mintClientKubeconfig(pki.ca, apiserver.server, join(workDir, 'users'), user, groups),
      describe: () => description,
      restartKubeApiserver: (restartOptions) => {
        if (stopping !== undefined) return Promise.reject(new Error(`control plane in ${workDir} is stopping`));
        if (restarting !== undefined) return Promise.reject(new Error('kube-apiserver is already restarting'));
        restarting = restartKubeApiserver(restartOptions?.downForMs ?? 0).finally(() => {
          restarting = undefined;
        });
        return restarting;
      },
      supervisedRestarts: () => [...restarts],
      stop,
    };
  } catch (error) {
    await stop();
    const hint = removeWorkDir ? ' (set KEEP_TEST_DIRS=1 to keep it and its logs)' : '';
    throw new Error(`control plane in ${workDir}${hint} did not start: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * A handle on a control plane another process started and described (see `describe()`).
 * Its `stop()` does nothing: the owner stops it.
 */
export function attachControlPlane(description: ControlPlaneDescription): ControlPlane {
  return {
    ...description,
    kubeConfig: loadKubeConfig(description.kubeconfigPath),
    mintKubeconfig: (user, groups) =>
      mintClientKubeconfig(
        description.certificateAuthority,
        description.server,
        join(description.workDir, 'users'),
        user,
        groups,
      ),
    describe: () => description,
    restartKubeApiserver: () =>
      Promise.reject(new Error('only the process that started the control plane can restart kube-apiserver')),
    supervisedRestarts: () => [],
    stop: async () => {},
  };
}

/**
 * The environment for kubectl and helm against this control plane, as admin: its kubeconfig,
 * and their discovery cache in its work dir rather than ~/.kube/cache, so that a run leaves
 * nothing in the user's home.
 */
export function toolEnvironment(plane: ControlPlaneDescription): NodeJS.ProcessEnv {
  return { ...process.env, KUBECONFIG: plane.kubeconfigPath, KUBECACHEDIR: join(plane.workDir, 'kube-cache') };
}

/** Logs, with its log tail, a process that ends while the control plane is meant to be running. */
function reportUnexpectedExit(child: HarnessProcess, stopRequested: () => boolean, log: (line: string) => void): void {
  void child.exited.then(async () => {
    if (!stopRequested()) log((await child.failure('stopped unexpectedly')).message);
  });
}

async function createPki(dir: string): Promise<ControlPlanePki> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const ca = await createCertificateAuthority(dir, 'ca');
  const [apiserverServing, adminClient, serviceAccount] = await Promise.all([
    issueServingCertificate(ca, dir, 'kube-apiserver', 'kube-apiserver', SERVING_ALT_NAMES),
    issueClientCertificate(ca, dir, 'admin', 'admin', ['system:masters']),
    createServiceAccountKeyPair(dir, 'service-account'),
  ]);
  return { ca, apiserverServing, adminClient, serviceAccount };
}
