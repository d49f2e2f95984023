/**
 * The two ZooKeeper configuration files: the static `zoo.cfg` (what takes a restart to change)
 * and the dynamic file with the `server.N` lines (what changes online through reconfig).
 * The start script adds the path keys (`dataDir`, `dynamicConfigFile`), so the same rendered
 * file runs in a container and in a test directory.
 */
import { FOUR_LETTER_WORDS } from '../api/constants.js';
import type { ResolvedPorts, ResolvedSpec } from '../api/defaults.js';
import {
  LOOPBACK_CLIENT_ADDRESS,
  type TemplateClientPhase,
  type TlsPhase,
  templateClientPhase,
} from '../api/tls-phases.js';
import { type ClusterRef, isObserverId, memberHost } from './names.js';

const PROMETHEUS_PROVIDER = 'org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider';

/**
 * With SASL DIGEST-MD5 users (`spec.authentication.digestUsers`): the `sasl` ACL scheme, whose
 * identities are the users the JAAS file the start script writes lists. None is a super user:
 * that takes a `zookeeper.superUser` property, which spec cannot set (`GUARDED_PROPERTIES`).
 */
const SASL_CONFIG: Readonly<Record<string, string>> = {
  'authProvider.sasl': 'org.apache.zookeeper.server.auth.SASLAuthenticationProvider',
};

/**
 * The keys of each TLS rung (`tls-phase.ts`); the start script adds the key and trust store
 * paths. PEM stores, reloaded without a restart when the start script replaces the files.
 */
function tlsConfig(quorum: TlsPhase['quorum'], client: TemplateClientPhase, ports: ResolvedPorts) {
  const quorumKeys: Record<string, string> =
    quorum === 'plaintext'
      ? {}
      : {
          'ssl.quorum.keyStore.type': 'PEM',
          'ssl.quorum.trustStore.type': 'PEM',
          sslQuorumReloadCertFiles: 'true',
          // Accepting both while any member may still send plaintext, or may already send TLS.
          portUnification: String(quorum !== 'tls-only'),
          sslQuorum: String(quorum === 'sending-tls' || quorum === 'tls-only'),
        };
  const clientKeys: Record<string, string> =
    client === 'plaintext'
      ? {}
      : {
          secureClientPort: String(ports.secureClient),
          // Only Netty serves TLS to clients.
          serverCnxnFactory: 'org.apache.zookeeper.server.NettyServerCnxnFactory',
          'ssl.keyStore.type': 'PEM',
          'ssl.trustStore.type': 'PEM',
          // A client without a certificate of the cluster CA is refused at the handshake.
          'ssl.clientAuth': 'need',
          'client.certReload': 'true',
          // The certificate's subject is the client's identity in ACLs: x509:CN=...
          'authProvider.x509': 'org.apache.zookeeper.server.auth.X509AuthenticationProvider',
        };
  return { ...quorumKeys, ...clientKeys };
}

/** Keys the operator always sets, whatever the spec says (the CRD rejects them in spec.config). */
function managedConfig(spec: Pick<ResolvedSpec, 'ports' | 'digestUsers'>, tls: TlsPhase): Record<string, string> {
  const { ports } = spec;
  return {
    ...tlsConfig(tls.quorum, templateClientPhase(tls.client), ports),
    ...(spec.digestUsers === undefined ? {} : SASL_CONFIG),
    '4lw.commands.whitelist': [...FOUR_LETTER_WORDS].sort().join(','),
    // The AdminServer answers anyone who reaches it, without credentials: system_properties (the
    // super user's digest), dump, cons, and commands that reset statistics. 3.8 has no AdminServer
    // authentication and 3.9.4 asks for it only on snapshot and restore, so it serves on the pod's
    // loopback alone: nothing outside the pod reaches it, `kubectl port-forward` still does.
    'admin.enableServer': 'true',
    'admin.serverAddress': '127.0.0.1',
    'admin.serverPort': String(ports.admin),
    'metricsProvider.className': PROMETHEUS_PROVIDER,
    'metricsProvider.httpHost': '0.0.0.0',
    'metricsProvider.httpPort': String(ports.metrics),
    // Pods reach each other by DNS names that resolve to the pod IP; listen on every address.
    quorumListenOnAllIPs: 'true',
    reconfigEnabled: 'true',
    // A one-member ensemble must still be a quorum peer, or it could never grow by reconfig.
    standaloneEnabled: 'false',
  };
}

const propertiesBlock = (entries: Record<string, string>): string =>
  Object.keys(entries)
    .sort()
    .map((key) => `${key}=${entries[key]}\n`)
    .join('');

/** The static zoo.cfg: the operator's managed keys, then the tunables (defaults overridden by spec.config). */
export function renderStaticConfig(cluster: ClusterRef, spec: ResolvedSpec, tls: TlsPhase): string {
  return (
    `# zoo.cfg of ${cluster.namespace}/${cluster.name}, rendered by zookeeper-operator; edit spec.config instead.\n` +
    '# Managed by the operator:\n' +
    propertiesBlock(managedConfig(spec, tls)) +
    '# Tunables (spec.config over the operator defaults):\n' +
    propertiesBlock(spec.config)
  );
}

/**
 * One member's entry: `server.<myid>=<host>:<quorum>:<election>:<role>;<address>:<client>`. The
 * server id says the role: observers' ids are their own range (`names.ts`). The plaintext client
 * port listens on every address, or, once clients use TLS only (`clientOnLoopback`), at
 * `ports.loopbackClient` on the pod's loopback, where only the member's own probes reach it.
 */
export function serverLine(
  cluster: ClusterRef,
  myid: number,
  spec: Pick<ResolvedSpec, 'ports' | 'clusterDomain'>,
  clientOnLoopback = false,
) {
  const host = memberHost(cluster, myid, spec.clusterDomain);
  const { quorum, election, client, loopbackClient } = spec.ports;
  const endpoint = clientOnLoopback ? `${LOOPBACK_CLIENT_ADDRESS}:${loopbackClient}` : `0.0.0.0:${client}`;
  return `server.${myid}=${host}:${quorum}:${election}:${isObserverId(myid) ? 'observer' : 'participant'};${endpoint}`;
}

/**
 * The dynamic config listing the given members (voters and observers), ordered by server id: each member's line as spec
 * renders it, or its committed line while it waits to move (`committedLines`).
 */
export function renderDynamicConfig(
  cluster: ClusterRef,
  memberIds: readonly number[],
  spec: Pick<ResolvedSpec, 'ports' | 'clusterDomain'>,
  committedLines?: ReadonlyMap<number, { line: string }>,
  clientOnLoopback = false,
): string {
  return [...new Set(memberIds)]
    .sort((a, b) => a - b)
    .map((myid) => `${committedLines?.get(myid)?.line ?? serverLine(cluster, myid, spec, clientOnLoopback)}\n`)
    .join('');
}
