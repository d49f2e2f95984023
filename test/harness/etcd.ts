/**
 * A single-member etcd for the test control plane: 127.0.0.1 only, ports picked at run time,
 * data in the work dir, no fsync (tests do not need durability, and fsync dominates on CI disks).
 * Ready when `GET /health` says `"health":"true"`.
 */
import { join } from 'node:path';
import { probe } from './http-probe.js';
import { freePort } from './ports.js';
import { type HarnessProcess, startProcess, waitUntilReady } from './processes.js';

export interface EtcdServer {
  readonly process: HarnessProcess;
  /** `http://127.0.0.1:<port>`, for kube-apiserver's --etcd-servers. */
  readonly clientUrl: string;
}

const READY_TIMEOUT_MS = 60_000;

/** Starts etcd with its data in `<workDir>/etcd` and its log in `<workDir>/etcd.log`. */
export async function startEtcd(binary: string, workDir: string): Promise<EtcdServer> {
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const etcd = await startProcess({
    name: `etcd (client port ${clientPort}, peer port ${peerPort})`,
    command: binary,
    args: [
      '--name=test',
      `--data-dir=${join(workDir, 'etcd')}`,
      `--listen-client-urls=${clientUrl}`,
      `--advertise-client-urls=${clientUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=test=${peerUrl}`,
      '--unsafe-no-fsync=true',
      '--quota-backend-bytes=1073741824',
      '--log-level=warn',
    ],
    logPath: join(workDir, 'etcd.log'),
  });
  await waitUntilReady(etcd, {
    description: `GET ${clientUrl}/health reports "health":"true"`,
    probe: async () => ((await probe(`${clientUrl}/health`)).body.includes('"health":"true"') ? true : undefined),
    timeoutMs: READY_TIMEOUT_MS,
    intervalMs: 100,
  });
  return { process: etcd, clientUrl };
}
