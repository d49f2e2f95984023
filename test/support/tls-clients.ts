/**
 * Clients of a TLS cluster on the real control plane, for the end-to-end tests: where each Ready
 * member listens (its TLS client port once it serves one, else plaintext 2181), a ZooKeeper session
 * over the operator's own transport, and the certificate a member serves.
 */
import { connect as connectTls } from 'node:tls';
import type { V1Pod } from '@kubernetes/client-node';
import type { ZooKeeperCluster, ZooKeeperClusterStatus } from '../../src/api/types.js';
import { memberHost, serverIdOfPod } from '../../src/render/names.js';
import { ZooKeeperSession } from '../../src/zookeeper/session.js';
import type { ClientTls } from '../../src/zookeeper/transport.js';
import { isRunning, memberPods } from './clusters.js';

export const SECURE_PORT = 2281;

export const isReady = (pod: V1Pod) =>
  pod.metadata?.deletionTimestamp === undefined &&
  (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

export const servesTls = (pod: V1Pod) =>
  pod.spec?.containers[0]?.ports?.some((port) => port.name === 'secure-client' && port.containerPort === SECURE_PORT) ??
  false;

/**
 * The Ready members of cluster `name` as a connect string `openClient` reads: `tls:<ip>:<member
 * name>` for a member that serves the TLS client port (where a TLS client goes), `<ip>:2181` for
 * one that does not.
 */
export async function readyMembers(namespace: string, name: string): Promise<string> {
  return (await memberPods(namespace, name))
    .filter((pod) => pod.status?.podIP && isReady(pod))
    .map((pod) => {
      const myid = serverIdOfPod(name, pod.metadata?.name ?? '') ?? 0;
      return servesTls(pod)
        ? `tls:${pod.status?.podIP}:${memberHost({ name, namespace }, myid, 'cluster.local')}`
        : `${pod.status?.podIP}:2181`;
    })
    .join(',');
}

/** A client of the cluster: TLS with `credentials` where a member serves it, plaintext where not. */
export const openClient = (credentials: ClientTls) => (connectString: string) =>
  ZooKeeperSession.open({
    servers: connectString.split(',').map((entry) => {
      const [scheme, ip, serverName] = entry.split(':');
      return scheme === 'tls' && ip !== undefined && serverName !== undefined
        ? { address: `${ip}:${SECURE_PORT}`, tls: { credentials, serverName } }
        : entry;
    }),
    sessionTimeoutMs: 15_000,
    connectTimeoutMs: 15_000,
  });

/**
 * The fingerprint of the certificate a member serves on its TLS client port, verified against `ca`
 * for its DNS name; rejects when refused (no `srvr` answer).
 */
export function servedCertificate(
  ip: string,
  serverName: string,
  client: Partial<ClientTls> & { ca: string },
): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const socket = connectTls({
      host: ip,
      port: SECURE_PORT,
      servername: serverName,
      allowPartialTrustChain: true,
      ...client,
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')));
    let answer = '';
    socket.once('secureConnect', () => socket.write('srvr'));
    socket.on('data', (chunk) => {
      answer += chunk.toString();
    });
    socket.once('end', () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.destroy();
      if (answer.includes('Zookeeper version')) resolve(fingerprint);
      else reject(new Error(`refused: the connection closed without an answer (${JSON.stringify(answer)})`));
    });
    socket.once('error', reject);
  });
}

export const phases = (status: ZooKeeperClusterStatus) => `${status.tls?.quorum}/${status.tls?.client}`;

/** Running and settled on the given phases, every member serving and in sync. */
export const onPhases =
  (quorum: string, client: string) => (status: ZooKeeperClusterStatus, cluster: ZooKeeperCluster) =>
    isRunning(status, cluster) &&
    status.tls?.quorum === quorum &&
    status.tls?.client === client &&
    status.currentRevision === status.targetRevision &&
    status.ready === '3/3';
