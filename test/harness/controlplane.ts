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
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
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
  /** Stops every process (newest first) and removes a temp work dir; idempotent. */
  stop(): Promise<void>;
}

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
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
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

  try {
    const pki = await createPki(join(workDir, 'pki'));
    log(`certificates written to ${join(workDir, 'pki')} (${elapsed()})`);

    const etcd = await withPortRetries(() => startEtcd(binaries.etcd, workDir));
    processes.push(etcd.process);
    log(`etcd ${binaries.versions.etcd} healthy at ${etcd.clientUrl} (${elapsed()})`);

    const apiserver = await withPortRetries(() =>
      startKubeApiserver(binaries.kubeApiserver, workDir, etcd.clientUrl, pki, options.apiserverArgs),
    );
    processes.push(apiserver.process);
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

    processes.push(
      await startKubeControllerManager(binaries.kubeControllerManager, workDir, kubeconfigPath, kubeConfig, pki),
    );
    log(`kube-controller-manager running (${elapsed()})`);

    const schedulerCredentials = await createKubeSchedulerCredentials(
      pki.ca,
      join(workDir, 'pki'),
      workDir,
      apiserver.server,
    );
    processes.push(
      await withPortRetries(() => startKubeScheduler(binaries.kubeScheduler, workDir, pki.ca, schedulerCredentials)),
    );
    log(`kube-scheduler ready, running as ${SCHEDULER_USER} (${elapsed()})`);
    for (const child of processes) reportUnexpectedExit(child, () => stopping !== undefined, log);

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
