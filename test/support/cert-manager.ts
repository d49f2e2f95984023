/**
 * The real cert-manager controller (v1.11.5, built by `test/controlplane/install.sh cert-manager`)
 * for tests of the Certificates the operator asks a user's Issuer or ClusterIssuer for.
 *
 * `startCertManager(t, { namespace })` installs cert-manager's CRDs (server-side apply, so any
 * number of test files may do it at once; Established before it goes on), starts one controller
 * for the test and stops it at teardown. What runs, and why:
 * - the controller only: no webhook (nothing validates or defaults cert-manager objects beyond the
 *   CRD schema, and CertificateRequests carry no requester), no cainjector;
 * - the issuers, certificates-* and certificaterequests-{approver,issuer-ca,issuer-selfsigned}
 *   controllers (CONTROLLERS): SelfSigned and CA issuers, issuance, renewal, auto-approval. No
 *   ACME, Vault, Venafi, ingress or gateway shims, so no Order or Challenge CRD is needed;
 * - scoped to `namespace` (`--namespace`): it sees nothing else, so tests side by side each run
 *   their own. cert-manager then runs no ClusterIssuers at all. `clusterIssuers: true` runs it
 *   cluster-wide instead (ClusterIssuers read their Secrets from `namespace`); such a controller
 *   would act on every other test's Certificates too, so it takes the control plane's cert-manager
 *   scope exclusively: it waits until no other cert-manager runs, and others wait for it (Leases,
 *   see acquireScope);
 * - as admin (the control plane's system:masters kubeconfig): it needs no ServiceAccount or RBAC;
 * - no leader election, metrics on a free loopback port (nothing reads them), logs at --v=2 in
 *   its work dir (`cert-manager.log`; KEEP_TEST_DIRS=1 keeps it).
 * It is ready once a SelfSigned Issuer it was given (and in cluster-wide mode a ClusterIssuer) is
 * Ready: its informers have synced and it writes status. The probes are deleted again.
 *
 * No process outlives the test: the controller is started through processes.ts (SIGTERM at
 * teardown, SIGKILL at exit and when the test process dies, see setpriv there), and its command
 * line names its work dir (`$TMPDIR/zkop-cert-manager-*`, owned by the test process), so that
 * where even that fails the next control-plane start sweeps it (leftovers.ts, work-dir.ts).
 */
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { ExecutionContext } from 'ava';
import { type CertManagerBinaries, locateCertManager } from '../harness/binaries.js';
import { applyCrds } from '../harness/crds.js';
import { controlPlane } from '../harness/fixture.js';
import { loadKubeConfig } from '../harness/kubeconfig.js';
import { pollUntil } from '../harness/poll.js';
import { isAlive, parseIdentity, thisProcess } from '../harness/process-table.js';
import { type HarnessProcess, startProcess, waitUntilReady } from '../harness/processes.js';
import { createTemporaryWorkDir, type WorkDir } from '../harness/work-dir.js';

export const CERT_MANAGER_GROUP = 'cert-manager.io';
export const CERT_MANAGER_VERSION = 'v1';

/** cert-manager v1.11.5's names (`--controllers`) of the controllers these tests need. */
const CONTROLLERS = [
  'issuers',
  'certificaterequests-approver',
  'certificaterequests-issuer-ca',
  'certificaterequests-issuer-selfsigned',
  'certificates-trigger',
  'certificates-key-manager',
  'certificates-request-manager',
  'certificates-issuing',
  'certificates-readiness',
  'certificates-revision-manager',
] as const;
const CLUSTER_CONTROLLERS = ['clusterissuers'] as const;

const FIELD_MANAGER = 'zookeeper-operator-tests';
const READY_TIMEOUT_MS = 120_000;
/** Longest wait for the cert-manager scope (a cluster-wide cert-manager of another test, say). */
const SCOPE_TIMEOUT_MS = 300_000;
const CERTIFICATE_TIMEOUT_MS = 60_000;
const PROBE_NAME = 'zkop-cert-manager-probe';

export interface CertManagerOptions {
  /** The namespace it acts in; with `clusterIssuers`, where ClusterIssuers' Secrets are. */
  readonly namespace: string;
  /** An admin kubeconfig; default: the shared test control plane's (fixture.ts `controlPlane()`). */
  readonly kubeconfig?: string;
  /**
   * Run cluster-wide, so that ClusterIssuers work. Exclusive: waits until no other cert-manager
   * runs on this control plane, and keeps every other one waiting until it stops (see the header).
   */
  readonly clusterIssuers?: boolean;
  /** Receives progress lines (e.g. `t.log`); default: discarded. */
  readonly log?: (line: string) => void;
}

/** The parts of a cert-manager Certificate these tests read. */
export interface Certificate {
  readonly metadata: { name: string; namespace: string; resourceVersion?: string; generation?: number };
  readonly spec: { secretName: string } & Record<string, unknown>;
  readonly status?: {
    conditions?: CertificateCondition[];
    /** Counts issuances: 1 after the first, +1 per renewal. */
    revision?: number;
    notBefore?: string;
    notAfter?: string;
    renewalTime?: string;
  };
}

export interface CertificateCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

/** A `kubernetes.io/tls` Secret cert-manager wrote, decoded. */
export interface CertificateSecret {
  readonly 'tls.crt': string;
  readonly 'tls.key': string;
  /** The issuing CA's certificate; absent for issuers that do not know it. */
  readonly 'ca.crt'?: string;
}

export interface CertManager {
  readonly version: string;
  readonly namespace: string;
  readonly clusterIssuers: boolean;
  /** The controller process: pid, log path, `logTail()`. */
  readonly process: HarnessProcess;
  /** The Certificate `name` (in `namespace`, default the cert-manager's). */
  readCertificate(name: string, namespace?: string): Promise<Certificate>;
  /**
   * Waits until the Certificate is Ready at `minRevision` (default 1) or later, and returns it.
   * Fails at once, with the controller's log tail, if the controller exits.
   */
  waitForCertificate(
    name: string,
    options?: { namespace?: string; minRevision?: number; timeoutMs?: number },
  ): Promise<Certificate>;
  /** What `cmctl renew` does: sets the Certificate's Issuing condition, so it is issued anew now. */
  renew(name: string, namespace?: string): Promise<void>;
  /** The decoded data of a Secret cert-manager wrote (in `namespace`, default the cert-manager's). */
  readSecret(name: string, namespace?: string): Promise<CertificateSecret>;
  /** SIGTERM (SIGKILL after 10 s), then the scope is released and the work dir removed; idempotent. */
  stop(): Promise<void>;
}

const crdsInstalled = new Map<string, Promise<string[]>>();

/**
 * Applies cert-manager's CRDs (Certificate, CertificateRequest, Issuer, ClusterIssuer) to the
 * API server of `kubeConfig`, once per process and server, and returns their names once Established.
 */
export function installCertManagerCrds(kubeConfig: KubeConfig): Promise<string[]> {
  const server = kubeConfig.getCurrentCluster()?.server ?? '';
  let installed = crdsInstalled.get(server);
  if (installed === undefined) {
    installed = locateCertManager().then((binaries) => applyCrds(kubeConfig, binaries.crdDirectory, FIELD_MANAGER));
    // A failure is not remembered: the next caller tries again.
    installed.catch(() => crdsInstalled.delete(server));
    crdsInstalled.set(server, installed);
  }
  return installed;
}

/** Starts cert-manager for `options.namespace` (see the header); stopped at the test's teardown. */
export async function startCertManager(t: ExecutionContext, options: CertManagerOptions): Promise<CertManager> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  const { namespace } = options;
  const clusterIssuers = options.clusterIssuers === true;
  const binaries = await locateCertManager();
  const kubeconfig = options.kubeconfig ?? (await controlPlane()).kubeconfigPath;
  const kubeConfig = loadKubeConfig(kubeconfig);
  await installCertManagerCrds(kubeConfig);
  log(`cert-manager ${binaries.version} CRDs established (${elapsed()})`);

  const releaseScope = await acquireScope(kubeConfig, namespace, clusterIssuers, log);
  let work: WorkDir | undefined;
  let controller: HarnessProcess | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await controller?.stop();
      await releaseScope();
      await work?.remove();
    })();
    return stopping;
  };
  t.teardown(stop);
  try {
    work = await createTemporaryWorkDir('zkop-cert-manager-');
    controller = await startController(binaries, work.path, kubeconfig, namespace, clusterIssuers);
    await waitUntilIssuing(controller, kubeConfig, namespace, clusterIssuers);
  } catch (error) {
    await stop();
    throw error;
  }
  log(
    `cert-manager ${binaries.version} (pid ${controller.pid}) ready for ` +
      `${clusterIssuers ? `every namespace, ClusterIssuers' Secrets in ${namespace}` : `namespace ${namespace}`} (${elapsed()})`,
  );
  return handle(binaries.version, namespace, clusterIssuers, controller, kubeConfig, stop);
}

async function startController(
  binaries: CertManagerBinaries,
  workDir: string,
  adminKubeconfig: string,
  namespace: string,
  clusterIssuers: boolean,
): Promise<HarnessProcess> {
  // A copy in the work dir: the command line then names the dir, which is how a sweep after a
  // crash finds the process (work-dir.ts sweepDeadWorkDirs).
  const kubeconfig = join(workDir, 'admin.kubeconfig');
  await copyFile(adminKubeconfig, kubeconfig);
  const controllers = clusterIssuers ? [...CONTROLLERS, ...CLUSTER_CONTROLLERS] : CONTROLLERS;
  return startProcess({
    name: 'cert-manager-controller',
    command: binaries.controller,
    args: [
      `--kubeconfig=${kubeconfig}`,
      clusterIssuers ? `--cluster-resource-namespace=${namespace}` : `--namespace=${namespace}`,
      `--controllers=${controllers.join(',')}`,
      '--leader-elect=false',
      // Its default is 0.0.0.0:9402: one port for every cert-manager, on every interface.
      '--metrics-listen-address=127.0.0.1:0',
      '--v=2',
    ],
    logPath: join(workDir, 'cert-manager.log'),
    cwd: workDir,
  });
}

/** Resolves once a SelfSigned Issuer (and ClusterIssuer) given to `controller` is Ready; deletes them. */
async function waitUntilIssuing(
  controller: HarnessProcess,
  kubeConfig: KubeConfig,
  namespace: string,
  clusterIssuers: boolean,
): Promise<void> {
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const issuer = { group: CERT_MANAGER_GROUP, version: CERT_MANAGER_VERSION, plural: 'issuers', namespace };
  const clusterIssuer = { group: CERT_MANAGER_GROUP, version: CERT_MANAGER_VERSION, plural: 'clusterissuers' };
  // One ClusterIssuer name per namespace, so that cert-managers of other runs' leftovers never share one.
  const clusterProbeName = `${PROBE_NAME}-${namespace}`;
  const body = (kind: string, name: string) => ({
    apiVersion: `${CERT_MANAGER_GROUP}/${CERT_MANAGER_VERSION}`,
    kind,
    metadata: { name, labels: { 'app.kubernetes.io/managed-by': FIELD_MANAGER } },
    spec: { selfSigned: {} },
  });
  await custom.createNamespacedCustomObject({ ...issuer, body: body('Issuer', PROBE_NAME) });
  if (clusterIssuers) {
    await custom
      .createClusterCustomObject({ ...clusterIssuer, body: body('ClusterIssuer', clusterProbeName) })
      .catch((error: { code?: number }) => {
        if (error.code !== 409) throw error;
      });
  }
  const ready = (object: unknown) =>
    (object as Certificate).status?.conditions?.some(
      (condition) => condition.type === 'Ready' && condition.status === 'True',
    ) === true;
  try {
    await waitUntilReady(controller, {
      description: `the SelfSigned Issuer ${namespace}/${PROBE_NAME}${clusterIssuers ? ` and ClusterIssuer ${clusterProbeName}` : ''} are Ready`,
      probe: async () => {
        if (!ready(await custom.getNamespacedCustomObject({ ...issuer, name: PROBE_NAME }))) return undefined;
        if (
          clusterIssuers &&
          !ready(await custom.getClusterCustomObject({ ...clusterIssuer, name: clusterProbeName }))
        ) {
          return undefined;
        }
        return true;
      },
      timeoutMs: READY_TIMEOUT_MS,
      intervalMs: 250,
    });
  } finally {
    await custom.deleteNamespacedCustomObject({ ...issuer, name: PROBE_NAME }).catch(ignoreNotFound);
    if (clusterIssuers)
      await custom.deleteClusterCustomObject({ ...clusterIssuer, name: clusterProbeName }).catch(ignoreNotFound);
  }
}

function handle(
  version: string,
  namespace: string,
  clusterIssuers: boolean,
  controller: HarnessProcess,
  kubeConfig: KubeConfig,
  stop: () => Promise<void>,
): CertManager {
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const certificates = (inNamespace: string) => ({
    group: CERT_MANAGER_GROUP,
    version: CERT_MANAGER_VERSION,
    plural: 'certificates',
    namespace: inNamespace,
  });
  const readCertificate = async (name: string, inNamespace = namespace) =>
    (await custom.getNamespacedCustomObject({ ...certificates(inNamespace), name })) as Certificate;
  return {
    version,
    namespace,
    clusterIssuers,
    process: controller,
    readCertificate,
    waitForCertificate: async (name, waitOptions = {}) => {
      const inNamespace = waitOptions.namespace ?? namespace;
      const minRevision = waitOptions.minRevision ?? 1;
      let last: Certificate | undefined;
      try {
        return await pollUntil(
          `Certificate ${inNamespace}/${name} to be Ready at revision ${minRevision} or later`,
          async () => {
            last = await readCertificate(name, inNamespace);
            const isReady = last.status?.conditions?.some(
              (condition) => condition.type === 'Ready' && condition.status === 'True',
            );
            return isReady && (last.status?.revision ?? 0) >= minRevision ? last : undefined;
          },
          {
            timeoutMs: waitOptions.timeoutMs ?? CERTIFICATE_TIMEOUT_MS,
            intervalMs: 250,
            abortIf: async () => (controller.hasExited ? new Error('cert-manager exited') : undefined),
          },
        );
      } catch (error) {
        const seen = last === undefined ? 'never read' : `its last status: ${JSON.stringify(last.status ?? {})}`;
        throw await controller.failure(`did not issue in time: ${(error as Error).message} (${seen})`);
      }
    },
    renew: async (name, inNamespace = namespace) => {
      // As cmctl: an update of the status (resourceVersion included), again after a conflict.
      await pollUntil(
        `the renewal of Certificate ${inNamespace}/${name} to be requested`,
        async () => {
          const certificate = await readCertificate(name, inNamespace);
          const conditions = (certificate.status?.conditions ?? []).filter((condition) => condition.type !== 'Issuing');
          conditions.push({
            type: 'Issuing',
            status: 'True',
            reason: 'ManuallyTriggered',
            message: 'Certificate re-issuance manually triggered',
            lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
            ...(certificate.metadata.generation === undefined
              ? {}
              : { observedGeneration: certificate.metadata.generation }),
          });
          try {
            await custom.replaceNamespacedCustomObjectStatus({
              ...certificates(inNamespace),
              name,
              body: { ...certificate, status: { ...certificate.status, conditions } },
            });
          } catch (error) {
            if ((error as { code?: number }).code === 409) return undefined;
            throw error;
          }
          return true;
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
    },
    readSecret: async (name, inNamespace = namespace) => {
      const secret = await core.readNamespacedSecret({ name, namespace: inNamespace });
      const decoded = (key: string) => {
        const value = secret.data?.[key];
        return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
      };
      const tlsCrt = decoded('tls.crt');
      const tlsKey = decoded('tls.key');
      if (tlsCrt === undefined || tlsKey === undefined) {
        throw new Error(
          `Secret ${inNamespace}/${name} has no tls.crt or tls.key (keys: ${Object.keys(secret.data ?? {}).join(', ')})`,
        );
      }
      const caCrt = decoded('ca.crt');
      return { 'tls.crt': tlsCrt, 'tls.key': tlsKey, ...(caCrt === undefined ? {} : { 'ca.crt': caCrt }) };
    },
    stop,
  };
}

// ---------------------------------------------------------------------------------------- scope

/**
 * Who may run a cert-manager on the control plane now, as a readers-writer lock of Leases: a
 * namespaced cert-manager holds `zkop-test-cert-manager` in its namespace (shared: many at once,
 * one per namespace), a cluster-wide one holds `zkop-test-cert-manager-cluster-wide` in
 * kube-system (exclusive). A cluster-wide one first takes its Lease, then waits until no
 * namespaced one is left; a namespaced one that finds the cluster-wide Lease after taking its own
 * gives its own up and waits. A Lease names its holder (pid and start time of the test process,
 * which is on this machine); one whose holder is gone (a killed run against a long-lived
 * dev-cluster) is deleted. Returns the release.
 */
async function acquireScope(
  kubeConfig: KubeConfig,
  namespace: string,
  clusterWide: boolean,
  log: (line: string) => void,
): Promise<() => Promise<void>> {
  const leases = kubeConfig.makeApiClient(CoordinationV1Api);
  const holder = JSON.stringify(thisProcess());
  const lease = (leaseNamespace: string, name: string): V1Lease => ({
    metadata: { name, namespace: leaseNamespace, labels: { [SCOPE_LABEL]: clusterWide ? 'cluster' : 'namespace' } },
    spec: { holderIdentity: holder },
  });
  const exclusive = { namespace: 'kube-system', name: 'zkop-test-cert-manager-cluster-wide' };
  const own = clusterWide ? exclusive : { namespace, name: 'zkop-test-cert-manager' };
  /** The holder of a live Lease, or undefined when there is none (a dead holder's is deleted). */
  const liveHolder = async (where: { namespace: string; name: string }): Promise<string | undefined> => {
    let existing: V1Lease;
    try {
      existing = await leases.readNamespacedLease(where);
    } catch (error) {
      if ((error as { code?: number }).code === 404) return undefined;
      throw error;
    }
    const identity = parseIdentity(existing.spec?.holderIdentity ?? '');
    if (identity !== undefined && isAlive(identity)) return `pid ${identity.pid}`;
    await leases.deleteNamespacedLease(where).catch(ignoreNotFound);
    return undefined;
  };
  /** Creates this cert-manager's Lease: true when taken, false while a live holder has it. */
  const take = async (): Promise<boolean> => {
    try {
      await leases.createNamespacedLease({ namespace: own.namespace, body: lease(own.namespace, own.name) });
      return true;
    } catch (error) {
      if ((error as { code?: number }).code !== 409) throw error;
    }
    const current = await liveHolder(own);
    if (current !== undefined && !clusterWide) {
      // Thrown out of the wait below: two cert-managers in one namespace would never become one.
      throw new ScopeRefused(`a cert-manager of ${current} already runs for namespace ${namespace}; one per namespace`);
    }
    return false;
  };
  const release = async () => {
    await leases.deleteNamespacedLease(own).catch(ignoreNotFound);
  };
  // pollUntil retries a probe that throws (an API hiccup); a refusal, or an answer that no
  // retry changes (no such namespace, forbidden), ends the wait at once.
  let refused: Error | undefined;
  const waitFor = <T>(what: string, probe: () => Promise<T | undefined>) =>
    pollUntil(
      what,
      async () => {
        try {
          return await probe();
        } catch (error) {
          const code = (error as { code?: number }).code ?? 0;
          if (error instanceof ScopeRefused) refused = error;
          else if (code >= 400 && code < 500 && code !== 409 && code !== 429) {
            refused = new Error(`the cert-manager scope Lease could not be used: ${(error as Error).message}`, {
              cause: error,
            });
          }
          throw error;
        }
      },
      { timeoutMs: SCOPE_TIMEOUT_MS, intervalMs: 500, abortIf: async () => refused },
    );
  let waited = false;
  const waiting = (line: string) => {
    if (!waited) log(line);
    waited = true;
  };

  if (clusterWide) {
    await waitFor('no other cluster-wide cert-manager', async () => {
      if (await take()) return true;
      waiting(`waiting for the cluster-wide cert-manager of ${await liveHolder(exclusive)} to stop`);
      return undefined;
    });
    try {
      await waitFor('no namespaced cert-manager (they would act on the same Certificates)', async () => {
        const held = await leases.listLeaseForAllNamespaces({ labelSelector: `${SCOPE_LABEL}=namespace` });
        const live: string[] = [];
        for (const item of held.items) {
          const where = { namespace: item.metadata?.namespace ?? '', name: item.metadata?.name ?? '' };
          if ((await liveHolder(where)) !== undefined) live.push(where.namespace);
        }
        if (live.length === 0) return true;
        waiting(`waiting for the cert-managers of namespaces ${live.join(', ')} to stop`);
        return undefined;
      });
    } catch (error) {
      await release();
      throw error;
    }
    return release;
  }
  await waitFor('no cluster-wide cert-manager (it would act on the same Certificates)', async () => {
    const current = await liveHolder(exclusive);
    if (current !== undefined) {
      waiting(`waiting for the cluster-wide cert-manager of ${current} to stop`);
      return undefined;
    }
    if (!(await take())) return undefined;
    // It may have come between the look and the take: then it goes first.
    if ((await liveHolder(exclusive)) === undefined) return true;
    await release();
    return undefined;
  });
  return release;
}

const SCOPE_LABEL = 'zookeeper-operator.test/cert-manager-scope';

/** Waiting cannot help: the scope is held by the same kind of cert-manager for the same namespace. */
class ScopeRefused extends Error {}

function ignoreNotFound(error: { code?: number }): void {
  if (error.code !== 404) throw error;
}

// Issuers and Certificates, as a user of cert-manager creates them --------------------------------

/** `cert-manager.io/v1`, the apiVersion of the objects below. */
export const CERT_MANAGER_API_VERSION = `${CERT_MANAGER_GROUP}/${CERT_MANAGER_VERSION}`;

/** The shared control plane's custom objects client, as admin. */
export async function customObjects() {
  return (await controlPlane()).kubeConfig.makeApiClient(CustomObjectsApi);
}

/** Creates the cert-manager object `kind` (`plural`) named `name` in `namespace` with `spec`. */
async function createNamespaced(plural: string, kind: string, namespace: string, name: string, spec: object) {
  await (await customObjects()).createNamespacedCustomObject({
    group: CERT_MANAGER_GROUP,
    version: CERT_MANAGER_VERSION,
    plural,
    namespace,
    body: { apiVersion: CERT_MANAGER_API_VERSION, kind, metadata: { name }, spec },
  });
}

/** Creates the Issuer `name` in `namespace` with `spec`. */
export const createIssuer = (namespace: string, name: string, spec: object): Promise<void> =>
  createNamespaced('issuers', 'Issuer', namespace, name, spec);

/** Creates the Certificate `name` in `namespace` with `spec`. */
export const createCertificate = (namespace: string, name: string, spec: object): Promise<void> =>
  createNamespaced('certificates', 'Certificate', namespace, name, spec);

/** A SelfSigned Issuer, a CA Certificate from it into Secret `root-ca`, and the CA Issuer `ca` on that Secret. */
export async function createCaIssuer(certManager: CertManager): Promise<CertificateSecret> {
  const { namespace } = certManager;
  await createIssuer(namespace, 'selfsigned', { selfSigned: {} });
  await createCertificate(namespace, 'root-ca', {
    isCA: true,
    commonName: 'zookeeper-operator test CA',
    secretName: 'root-ca',
    privateKey: { algorithm: 'ECDSA', size: 256 },
    issuerRef: { name: 'selfsigned', kind: 'Issuer' },
  });
  await certManager.waitForCertificate('root-ca');
  await createIssuer(namespace, 'ca', { ca: { secretName: 'root-ca' } });
  return certManager.readSecret('root-ca');
}
