/**
 * kube-apiserver for the test control plane, on 127.0.0.1 with a port picked at run time.
 *
 * Flags follow docs (test-control-plane note §5): the advertise address is loopback (else it
 * looks for a host interface), the endpoint reconciler is off (loopback is not a valid endpoint
 * IP), the service range 10.0.0.0/24 only hands out ClusterIPs nobody may dial (no kube-proxy),
 * RBAC is on so tests can check the operator's permissions, and the ServiceAccount admission
 * plugin is off so a pod never waits for its namespace's `default` ServiceAccount.
 * Ready when `GET /readyz` returns 200 (120 s allowed: a cold start on 2 busy cores is slow).
 * A fault test can start it again on the port it had (`requestedPort`), with the same etcd and
 * certificates, so every client's kubeconfig stays valid across the restart.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CertificateFiles, ServiceAccountKeyFiles } from './certs.js';
import { probe } from './http-probe.js';
import { freePort } from './ports.js';
import { type HarnessProcess, startProcess, waitUntilReady } from './processes.js';

export interface ControlPlanePki {
  readonly ca: CertificateFiles;
  readonly apiserverServing: CertificateFiles;
  readonly adminClient: CertificateFiles;
  readonly serviceAccount: ServiceAccountKeyFiles;
}

export interface KubeApiserver {
  readonly process: HarnessProcess;
  /** `https://127.0.0.1:<port>` */
  readonly server: string;
}

const SERVICE_CLUSTER_IP_RANGE = '10.0.0.0/24';
const READY_TIMEOUT_MS = 120_000;

/**
 * Starts kube-apiserver against `etcdUrl`; its log goes to `<workDir>/kube-apiserver.log`
 * (appended to, so a restart keeps the earlier run's lines). `extraArgs` come last (e.g. an
 * admission plugin or an audit log a test needs). `requestedPort` is the one to serve on; default: a free one.
 */
export async function startKubeApiserver(
  binary: string,
  workDir: string,
  etcdUrl: string,
  pki: ControlPlanePki,
  extraArgs: readonly string[] = [],
  requestedPort?: number,
): Promise<KubeApiserver> {
  const port = requestedPort ?? (await freePort());
  const server = `https://127.0.0.1:${port}`;
  const apiserver = await startProcess({
    name: `kube-apiserver (port ${port})`,
    command: binary,
    args: [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      '--advertise-address=127.0.0.1',
      '--endpoint-reconciler-type=none',
      `--tls-cert-file=${pki.apiserverServing.certPath}`,
      `--tls-private-key-file=${pki.apiserverServing.keyPath}`,
      `--client-ca-file=${pki.ca.certPath}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.serviceAccount.publicKeyPath}`,
      `--service-account-signing-key-file=${pki.serviceAccount.privateKeyPath}`,
      `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
      '--authorization-mode=RBAC',
      '--allow-privileged=true',
      '--disable-admission-plugins=ServiceAccount',
      `--cert-dir=${join(workDir, 'kube-apiserver-certs')}`,
      '--profiling=false',
      '--v=1',
      ...extraArgs,
    ],
    logPath: join(workDir, 'kube-apiserver.log'),
  });
  const [ca, cert, key] = await Promise.all([
    readFile(pki.ca.certPath),
    readFile(pki.adminClient.certPath),
    readFile(pki.adminClient.keyPath),
  ]);
  await waitUntilReady(apiserver, {
    description: `GET ${server}/readyz returns 200`,
    probe: async () => ((await probe(`${server}/readyz`, { ca, cert, key })).status === 200 ? true : undefined),
    timeoutMs: READY_TIMEOUT_MS,
    intervalMs: 250,
  });
  return { process: apiserver, server };
}
