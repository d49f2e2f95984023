/**
 * Where the control-plane binaries are. They are built once per machine by
 * `bash test/controlplane/install.sh` into `${ZKOP_CACHE_DIR:-$HOME/.cache/zookeeper-operator}`,
 * one directory per component and version (`k8s-v1.36.3/bin/kube-apiserver`, `.../kube-scheduler`,
 * `etcd-v3.6.14/bin/etcd`, `helm-v4.3.1/bin/helm`, `cert-manager-v1.11.5/bin/cert-manager-controller`
 * and its CRDs in `cert-manager-v1.11.5/crds/`). The versions come from
 * `test/controlplane/versions.env` (KEY=value lines), the single source of truth.
 */
import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { repoPath } from './repo.js';

export interface ToolVersions {
  /** e.g. `v1.36.3` */
  readonly kubernetes: string;
  /** e.g. `v3.6.14` */
  readonly etcd: string;
  /** e.g. `v4.3.1` */
  readonly helm: string;
  /** e.g. `v1.11.5` */
  readonly certManager: string;
}

export interface ControlPlaneBinaries {
  readonly versions: ToolVersions;
  readonly etcd: string;
  readonly kubeApiserver: string;
  readonly kubeControllerManager: string;
  readonly kubeScheduler: string;
  /** May not exist: the control plane does not need it. */
  readonly kubectl: string;
  /** May not exist: the control plane does not need it. */
  readonly helm: string;
  /** May not exist: only tests of Certificates run it (test/support/cert-manager.ts). */
  readonly certManager: CertManagerBinaries;
}

export interface CertManagerBinaries {
  readonly version: string;
  /** cert-manager's controller (no webhook, no cainjector). */
  readonly controller: string;
  /** `crd-{certificates,certificaterequests,issuers,clusterissuers}.yaml`, ready to apply. */
  readonly crdDirectory: string;
}

const VERSIONS_FILE = repoPath('test/controlplane/versions.env');

/** `$ZKOP_CACHE_DIR`, or `~/.cache/zookeeper-operator`. */
export function binaryCacheDir(): string {
  return process.env.ZKOP_CACHE_DIR || join(homedir(), '.cache', 'zookeeper-operator');
}

/** The component versions from `test/controlplane/versions.env`. */
async function readToolVersions(path = VERSIONS_FILE): Promise<ToolVersions> {
  const values = parseEnvFile(await readFile(path, 'utf8'));
  const required = (key: string): string => {
    const value = values.get(key);
    if (value === undefined || value === '') throw new Error(`${path} has no ${key}=... line`);
    return value;
  };
  return {
    kubernetes: required('K8S_VERSION'),
    etcd: required('ETCD_VERSION'),
    helm: required('HELM_VERSION'),
    certManager: required('CERT_MANAGER_VERSION'),
  };
}

function certManagerBinaries(cacheDir: string, version: string): CertManagerBinaries {
  const dir = join(cacheDir, `cert-manager-${version}`);
  return { version, controller: join(dir, 'bin', 'cert-manager-controller'), crdDirectory: join(dir, 'crds') };
}

/** cert-manager's controller and CRDs for the pinned version; fails, saying how to build them, if absent. */
export async function locateCertManager(cacheDir = binaryCacheDir()): Promise<CertManagerBinaries> {
  const binaries = certManagerBinaries(cacheDir, (await readToolVersions()).certManager);
  if (!(await isExecutable(binaries.controller)) || !(await isExecutable(binaries.crdDirectory))) {
    throw new Error(
      `cert-manager ${binaries.version} is missing or incomplete (${binaries.controller}, ${binaries.crdDirectory}). ` +
        'Build it once with `bash test/controlplane/install.sh cert-manager` (about 2.5 min cold).',
    );
  }
  return binaries;
}

/** The binaries' paths for the pinned versions; fails, naming what is missing, if a server binary is absent. */
export async function locateBinaries(cacheDir = binaryCacheDir()): Promise<ControlPlaneBinaries> {
  const versions = await readToolVersions();
  const kubernetesBin = join(cacheDir, `k8s-${versions.kubernetes}`, 'bin');
  const binaries: ControlPlaneBinaries = {
    versions,
    etcd: join(cacheDir, `etcd-${versions.etcd}`, 'bin', 'etcd'),
    kubeApiserver: join(kubernetesBin, 'kube-apiserver'),
    kubeControllerManager: join(kubernetesBin, 'kube-controller-manager'),
    kubeScheduler: join(kubernetesBin, 'kube-scheduler'),
    kubectl: join(kubernetesBin, 'kubectl'),
    helm: join(cacheDir, `helm-${versions.helm}`, 'bin', 'helm'),
    certManager: certManagerBinaries(cacheDir, versions.certManager),
  };
  const serverBinaries = [
    binaries.etcd,
    binaries.kubeApiserver,
    binaries.kubeControllerManager,
    binaries.kubeScheduler,
  ];
  const missing = (
    await Promise.all(serverBinaries.map(async (path) => ((await isExecutable(path)) ? [] : [path])))
  ).flat();
  if (missing.length > 0) {
    throw new Error(
      `control-plane binaries missing or not executable: ${missing.join(', ')}. ` +
        'Build them once with `bash test/controlplane/install.sh` (15-30 min; ZKOP_CACHE_DIR picks the cache directory).',
    );
  }
  return binaries;
}

function parseEnvFile(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) values.set(match[1] as string, match[2] as string);
  }
  return values;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
