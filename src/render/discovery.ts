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
 * - `ZOOKEEPER_CLIENT_PORT`: the port those two name;
 * - `ZOOKEEPER_TLS_ENABLED`: `true` while members serve clients over TLS (`spec.tls.client`, from
 *   its first phase on), `false` otherwise. While true:
 *   - `ZOOKEEPER_SECURE_CLIENT_PORT`, `ZOOKEEPER_CONNECT_SECURE` and
 *     `ZOOKEEPER_CONNECT_MEMBERS_SECURE`: the same addresses at the TLS client port;
 *   - `ZOOKEEPER_TLS_CA_CERTIFICATE`: the PEM CA bundle to verify members with (public: no key);
 *   - once clients may use TLS only, the first three keys name the TLS client port too: the
 *     plaintext one is closed to clients.
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
  securePort: 'ZOOKEEPER_SECURE_CLIENT_PORT',
  secureService: 'ZOOKEEPER_CONNECT_SECURE',
  secureMembers: 'ZOOKEEPER_CONNECT_MEMBERS_SECURE',
  caCertificate: 'ZOOKEEPER_TLS_CA_CERTIFICATE',
} as const;

/** How clients may connect: plaintext only, or TLS beside it (with the CA bundle), or TLS only. */
export type ClientAccess = { tls: 'none' } | { tls: 'beside' | 'only'; caBundle: string | undefined };

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
  access: ClientAccess = { tls: 'none' },
): Record<string, string> {
  const sorted = [...members].sort((a, b) => a - b);
  const at = (port: (myid: number) => number) => ({
    service: `${clientServiceHost(cluster, spec.clusterDomain)}:${port(0)}`,
    members: sorted.map((myid) => `${memberHost(cluster, myid, spec.clusterDomain)}:${port(myid)}`).join(','),
  });
  const secure = at(() => spec.ports.secureClient);
  const plaintext = at((myid) => clientPortsMoving.get(myid) ?? spec.ports.client);
  const first = access.tls === 'only' ? secure : plaintext;
  return {
    [CONNECTION_KEYS.clientPort]: String(access.tls === 'only' ? spec.ports.secureClient : spec.ports.client),
    [CONNECTION_KEYS.service]: first.service,
    [CONNECTION_KEYS.members]: first.members,
    [CONNECTION_KEYS.tlsEnabled]: String(access.tls !== 'none'),
    ...(access.tls === 'none'
      ? {}
      : {
          [CONNECTION_KEYS.securePort]: String(spec.ports.secureClient),
          [CONNECTION_KEYS.secureService]: secure.service,
          [CONNECTION_KEYS.secureMembers]: secure.members,
          ...(access.caBundle === undefined ? {} : { [CONNECTION_KEYS.caCertificate]: access.caBundle }),
        }),
  };
}
