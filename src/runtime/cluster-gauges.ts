/**
 * The operator's per-cluster gauges, fed by each reconcile: ZooKeeper's view of the ensemble
 * (members serving, voters, synced voters, fault tolerance, availability, leader changes, and
 * each member's last zxid: it moves with every client write, so it is a metric, never status)
 * and the rolling restart's progress, the earliest expiry of a TLS cluster's certificates and the
 * rung each of its TLS ladders stands on. A cluster that is gone has its series removed, so
 * dashboards and alerts never see a deleted cluster's last values.
 *
 * The alerts of the chart's monitoring pack (`helm/zookeeper-operator/files/monitoring/`) use
 * these names; test/unit/packaging/monitoring.test.ts fails when one of them is no longer exported.
 */
import { CLIENT_TLS_PHASES, QUORUM_TLS_PHASES } from '../api/tls-phases.js';
import type { OperationStatus, ZooKeeperCluster } from '../api/types.js';
import type { HealthObserver } from '../controller/dependencies.js';
import type { EnsembleHealth } from '../zookeeper/health.js';
import type { OperatorMetrics } from './metrics.js';

export function clusterGauges(metrics: OperatorMetrics): HealthObserver {
  const serving = metrics.clusterGauge('zookeeper_cluster_members_serving', 'Members serving client requests.');
  const voters = metrics.clusterGauge(
    'zookeeper_cluster_voters',
    'Voters in the committed configuration, as the leader counts them (the quorum size).',
  );
  const synced = metrics.clusterGauge('zookeeper_cluster_synced_voters', 'The leader plus voting followers in sync.');
  const tolerance = metrics.clusterGauge(
    'zookeeper_cluster_fault_tolerance',
    'Voters that may still fail before quorum is lost (negative: no quorum).',
  );
  const available = metrics.clusterGauge('zookeeper_cluster_available', '1 when a leader has a synced majority.');
  const leaderChanges = metrics.clusterGauge(
    'zookeeper_cluster_leader_changes',
    'Leader changes seen by this operator process since it started.',
  );
  const rolling = metrics.clusterGauge(
    'zookeeper_cluster_roll_in_progress',
    '1 while a rolling restart has members left to restart.',
  );
  const outdated = metrics.clusterGauge(
    'zookeeper_cluster_roll_members_outdated',
    'Members the rolling restart still has to restart (0 when no roll is under way).',
  );
  const lastZxid = metrics.memberGauge(
    'zookeeper_cluster_member_last_processed_zxid',
    'The last transaction id (zxid) each serving member processed: epoch * 2^32 + counter (exact below 2^53).',
  );
  const certificateExpiry = metrics.clusterGauge(
    'zookeeper_cluster_certificate_expiry_timestamp_seconds',
    'When the earliest of the cluster CA and member certificates expires (Unix seconds); only for clusters with spec.tls.',
  );
  const renewalOverdue = metrics.clusterGauge(
    'zookeeper_cluster_certificate_renewal_overdue',
    '1 while a certificate of the cluster is past the middle of its renewal window (condition CertificateExpiringSoon); only for clusters with spec.tls.',
  );
  // One gauge per ladder, not one with a traffic label: the two ladders have different rungs, and
  // each HELP names its own.
  const rungs = (phases: readonly string[]) => phases.map((phase, index) => `${index} ${phase}`).join(', ');
  const quorumTls = metrics.clusterGauge(
    'zookeeper_cluster_tls_quorum_phase',
    `The rung of the quorum TLS ladder every member has reached (status.tls.quorum): ${rungs(QUORUM_TLS_PHASES)}; only while spec.tls is set or a member still uses TLS.`,
  );
  const clientTls = metrics.clusterGauge(
    'zookeeper_cluster_tls_client_phase',
    `The rung of the client TLS ladder every member has reached (status.tls.client): ${rungs(CLIENT_TLS_PHASES)}; only while spec.tls is set or a member still uses TLS.`,
  );
  /** Sets the rung's index, or removes the series when the status reports no (known) rung. */
  const setRung = (
    gauge: typeof quorumTls,
    labels: { namespace: string; name: string },
    phases: readonly string[],
    phase: string | undefined,
  ) => {
    const index = phase === undefined ? -1 : phases.indexOf(phase);
    if (index < 0) gauge.remove(labels);
    else gauge.set(labels, index);
  };
  const lastLeader = new Map<string, string>();
  const observeHealth = (labels: { namespace: string; name: string }, health: EnsembleHealth) => {
    serving.set(labels, health.members.filter((m) => m.serving).length);
    voters.set(labels, health.quorumSize);
    synced.set(labels, health.syncedVoters);
    tolerance.set(labels, health.faultTolerance);
    available.set(labels, health.available ? 1 : 0);
    lastZxid.setMembers(
      labels,
      new Map(health.members.flatMap((m) => (m.zxid === undefined ? [] : [[m.pod, Number(BigInt(m.zxid))]]))),
    );
    const key = `${labels.namespace}/${labels.name}`;
    const leader = health.leader?.pod;
    if (leader !== undefined) {
      const previous = lastLeader.get(key);
      if (previous !== undefined && previous !== leader) leaderChanges.inc(labels);
      else if (previous === undefined) leaderChanges.set(labels, 0);
      lastLeader.set(key, leader);
    }
  };
  return {
    observe(cluster: ZooKeeperCluster, health: EnsembleHealth | undefined, operation?: OperationStatus) {
      const labels = { namespace: cluster.metadata.namespace, name: cluster.metadata.name };
      const roll = operation?.kind === 'RollingRestart' ? operation : undefined;
      rolling.set(labels, roll === undefined ? 0 : 1);
      outdated.set(labels, roll === undefined ? 0 : Math.max(0, (roll.total ?? 0) - (roll.done ?? 0)));
      if (health !== undefined) observeHealth(labels, health);
    },
    observeCertificates(cluster, certificates) {
      const labels = { namespace: cluster.metadata.namespace, name: cluster.metadata.name };
      const expiry = certificates?.earliestExpiry;
      if (expiry === undefined) certificateExpiry.remove(labels);
      else certificateExpiry.set(labels, Math.floor(expiry.getTime() / 1000));
      if (certificates === undefined) renewalOverdue.remove(labels);
      else renewalOverdue.set(labels, certificates.renewalOverdue ? 1 : 0);
    },
    observeTlsPhase(cluster, phase) {
      const labels = { namespace: cluster.metadata.namespace, name: cluster.metadata.name };
      setRung(quorumTls, labels, QUORUM_TLS_PHASES, phase?.quorum);
      setRung(clientTls, labels, CLIENT_TLS_PHASES, phase?.client);
    },
    forget(namespace: string, name: string) {
      lastLeader.delete(`${namespace}/${name}`);
      metrics.forgetCluster(namespace, name);
    },
  };
}
