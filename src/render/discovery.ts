/**
 * The discovery ConfigMap (`NAME-connection`): how an application reaches the ensemble, without
 * knowing the operator's naming. Its keys are environment-variable names, so a pod can take them
 * all with `envFrom: [{ configMapRef: { name: NAME-connection } }]` or mount them as files.
 *
 * Contract of the keys (applications may rely on them; new keys may be added, none renamed):
 * - `ZOOKEEPER_CONNECT`: the client Service, `host:port`, for clients that take one address;
 * - `ZOOKEEPER_CONNECT_MEMBERS`: every committed voter's own address, comma-separated, in server
 *   id order: the usual ZooKeeper connect string, which lets the client library fail over itself;
 *   the committed observers follow the voters when `spec.clientService.includeObservers` is true
 *   (the same switch as the client Service: whether client traffic may go to observers);
 *   while a port change moves the members one at a time, each at the port it listens on now;
 * - `ZOOKEEPER_CLIENT_PORT`: the plaintext client port;
 * - `ZOOKEEPER_TLS_ENABLED`: `false`. Client TLS is not built yet; when it is, this turns `true`
 *   and `ZOOKEEPER_TLS_*` keys (secure port, CA Secret) join it.
 *
 * Pure and deterministic: the same spec and members render byte-identical data.
 */
import type { ResolvedSpec } from '../api/defaults.js';
import { type ClusterRef, clientServiceHost, memberHost } from './names.js';

export const CONNECTION_KEYS = {
  service: 'ZOOKEEPER_CONNECT',
  members: 'ZOOKEEPER_CONNECT_MEMBERS',
  clientPort: 'ZOOKEEPER_CLIENT_PORT',
  tlsEnabled: 'ZOOKEEPER_TLS_ENABLED',
} as const;

/**
 * The ConfigMap's data: the connection strings for `members` (server ids of the committed
 * voters, and of the committed observers clients may use). `clientPortsMoving` holds the client port each member still listens on while a change
 * of ports moves it (server id → port); the client Service serves the new port throughout.
 */
export function renderConnectionData(
  cluster: ClusterRef,
  spec: Pick<ResolvedSpec, 'ports' | 'clusterDomain'>,
  members: readonly number[],
  clientPortsMoving: ReadonlyMap<number, number> = new Map(),
): Record<string, string> {
  const port = spec.ports.client;
  const memberAddresses = [...members]
    .sort((a, b) => a - b)
    .map((myid) => `${memberHost(cluster, myid, spec.clusterDomain)}:${clientPortsMoving.get(myid) ?? port}`);
  return {
    [CONNECTION_KEYS.clientPort]: String(port),
    [CONNECTION_KEYS.service]: `${clientServiceHost(cluster, spec.clusterDomain)}:${port}`,
    [CONNECTION_KEYS.members]: memberAddresses.join(','),
    [CONNECTION_KEYS.tlsEnabled]: 'false',
  };
}
