/**
 * The two ZooKeeper configuration files: the static `zoo.cfg` (what takes a restart to change)
 * and the dynamic file with the `server.N` lines (what changes online through reconfig).
 * The start script adds the path keys (`dataDir`, `dynamicConfigFile`), so the same rendered
 * file runs in a container and in a test directory.
 */
import { FOUR_LETTER_WORDS } from '../api/constants.js';
import type { ResolvedPorts, ResolvedSpec } from '../api/defaults.js';
import { type ClusterRef, isObserverId, memberHost } from './names.js';

const PROMETHEUS_PROVIDER = 'org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider';

/** Keys the operator always sets, whatever the spec says (the CRD rejects them in spec.config). */
function managedConfig(ports: ResolvedPorts): Record<string, string> {
  return {
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
export function renderStaticConfig(cluster: ClusterRef, spec: ResolvedSpec): string {
  return (
    `# zoo.cfg of ${cluster.namespace}/${cluster.name}, rendered by zookeeper-operator; edit spec.config instead.\n` +
    '# Managed by the operator:\n' +
    propertiesBlock(managedConfig(spec.ports)) +
    '# Tunables (spec.config over the operator defaults):\n' +
    propertiesBlock(spec.config)
  );
}

/**
 * One member's entry: `server.<myid>=<host>:<quorum>:<election>:<role>;0.0.0.0:<client>`. The
 * server id says the role: observers' ids are their own range (`names.ts`).
 */
export function serverLine(cluster: ClusterRef, myid: number, spec: Pick<ResolvedSpec, 'ports' | 'clusterDomain'>) {
  const host = memberHost(cluster, myid, spec.clusterDomain);
  const { quorum, election, client } = spec.ports;
  return `server.${myid}=${host}:${quorum}:${election}:${isObserverId(myid) ? 'observer' : 'participant'};0.0.0.0:${client}`;
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
): string {
  return [...new Set(memberIds)]
    .sort((a, b) => a - b)
    .map((myid) => `${committedLines?.get(myid)?.line ?? serverLine(cluster, myid, spec)}\n`)
    .join('');
}
