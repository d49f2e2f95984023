/**
 * kube-scheduler for the test control plane: the real scheduler of the pinned release places
 * every pod on one of the process kubelet's nodes, so nodeSelector, affinity and anti-affinity,
 * taints and tolerations, topology spread and resource requests decide as in a real cluster, and
 * a pod that fits no node stays Pending with the scheduler's `FailedScheduling` Event.
 *
 * It runs as the user `system:kube-scheduler` (a client certificate from the cluster CA), so
 * the apiserver's bootstrap RBAC for the scheduler applies, as in kubeadm clusters. Its endpoints
 * authenticate client certificates of the cluster CA directly (`--client-ca-file`: looking the
 * CA up in kube-system/extension-apiserver-authentication would log an error every few seconds,
 * as this apiserver has no front-proxy CA) and authorize through the apiserver with the same
 * kubeconfig. No leader election: there is one scheduler per control plane.
 *
 * It serves HTTPS on 127.0.0.1 and a port picked at run time, with a serving certificate from
 * the cluster CA. Ready when `GET /readyz` returns 200: that includes `sched-handler-sync`, i.e.
 * its informers have synced and it is scheduling. (`/readyz` is an always-allowed path.)
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type CertificateFiles, issueClientCertificate, issueServingCertificate } from './certs.js';
import { probe } from './http-probe.js';
import { writeKubeconfig } from './kubeconfig.js';
import { freePort } from './ports.js';
import { type HarnessProcess, startProcess, waitUntilReady } from './processes.js';

/** The user the apiserver's bootstrap RBAC grants the scheduler's permissions to. */
export const SCHEDULER_USER = 'system:kube-scheduler';

const READY_TIMEOUT_MS = 60_000;

export interface KubeSchedulerCredentials {
  /** Kubeconfig authenticating as `system:kube-scheduler`. */
  readonly kubeconfigPath: string;
  readonly client: CertificateFiles;
  readonly serving: CertificateFiles;
}

/**
 * Issues the scheduler's client and serving certificates into `pkiDir` and writes
 * `<workDir>/kube-scheduler.kubeconfig` for `server`.
 */
export async function createKubeSchedulerCredentials(
  ca: CertificateFiles,
  pkiDir: string,
  workDir: string,
  server: string,
): Promise<KubeSchedulerCredentials> {
  const [client, serving] = await Promise.all([
    issueClientCertificate(ca, pkiDir, 'kube-scheduler-client', SCHEDULER_USER, []),
    issueServingCertificate(ca, pkiDir, 'kube-scheduler-serving', 'kube-scheduler', {
      ipAddresses: ['127.0.0.1'],
      dnsNames: ['localhost'],
    }),
  ]);
  const kubeconfigPath = await writeKubeconfig(join(workDir, 'kube-scheduler.kubeconfig'), {
    server,
    caCertPath: ca.certPath,
    client,
    userEntry: SCHEDULER_USER,
  });
  return { kubeconfigPath, client, serving };
}

/** Starts kube-scheduler; its log goes to `<workDir>/kube-scheduler.log`. Resolves once it schedules. */
export async function startKubeScheduler(
  binary: string,
  workDir: string,
  ca: CertificateFiles,
  credentials: KubeSchedulerCredentials,
): Promise<HarnessProcess> {
  const port = await freePort();
  const endpoint = `https://127.0.0.1:${port}`;
  const scheduler = await startProcess({
    name: `kube-scheduler (port ${port})`,
    command: binary,
    args: [
      `--kubeconfig=${credentials.kubeconfigPath}`,
      `--client-ca-file=${ca.certPath}`,
      `--authorization-kubeconfig=${credentials.kubeconfigPath}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      `--tls-cert-file=${credentials.serving.certPath}`,
      `--tls-private-key-file=${credentials.serving.keyPath}`,
      '--profiling=false',
      '--v=1',
    ],
    logPath: join(workDir, 'kube-scheduler.log'),
  });
  const [caCert, cert, key] = await Promise.all([
    readFile(ca.certPath),
    readFile(credentials.client.certPath),
    readFile(credentials.client.keyPath),
  ]);
  await waitUntilReady(scheduler, {
    description: `GET ${endpoint}/readyz returns 200 (informers and event handlers synced)`,
    probe: async () =>
      (await probe(`${endpoint}/readyz`, { ca: caCert, cert, key })).status === 200 ? true : undefined,
    timeoutMs: READY_TIMEOUT_MS,
    intervalMs: 250,
  });
  return scheduler;
}
