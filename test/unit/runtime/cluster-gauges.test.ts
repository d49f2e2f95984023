import test from 'ava';
import type { OperationStatus } from '../../../src/api/types.js';
import { clusterGauges } from '../../../src/runtime/cluster-gauges.js';
import { OperatorMetrics } from '../../../src/runtime/metrics.js';
import { assessEnsemble } from '../../../src/zookeeper/health.js';
import { aCluster, healthyReadings } from '../../support/builders.js';

async function value(metrics: OperatorMetrics, name: string, cluster = 'example') {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  return metric?.values.find((v) => v.labels.name === cluster)?.value;
}

const roll = (done: number, total: number): OperationStatus => ({ kind: 'RollingRestart', done, total });

test('fault tolerance and synced voters follow ZooKeeper’s view', async (t) => {
  const metrics = new OperatorMetrics({ processMetrics: false });
  const gauges = clusterGauges(metrics);
  gauges.observe(aCluster({ replicas: 5 }), assessEnsemble(healthyReadings(5, 5)));
  t.is(await value(metrics, 'zookeeper_cluster_fault_tolerance'), 2);
  t.is(await value(metrics, 'zookeeper_cluster_synced_voters'), 5);
  t.is(await value(metrics, 'zookeeper_cluster_voters'), 5);
  t.is(await value(metrics, 'zookeeper_cluster_available'), 1);
});

test('leader changes count each new leader after the first one seen', async (t) => {
  const metrics = new OperatorMetrics({ processMetrics: false });
  const gauges = clusterGauges(metrics);
  for (const leader of [3, 3, 2, 3]) gauges.observe(aCluster(), assessEnsemble(healthyReadings(3, leader)));
  t.is(await value(metrics, 'zookeeper_cluster_leader_changes'), 2);
});

const rollCases: { name: string; operation: OperationStatus | undefined; inProgress: number; outdated: number }[] = [
  { name: 'no operation', operation: undefined, inProgress: 0, outdated: 0 },
  { name: 'a roll with 1 of 3 done', operation: roll(1, 3), inProgress: 1, outdated: 2 },
  { name: 'a scale-up is not a roll', operation: { kind: 'ScaleUp', done: 3, total: 4 }, inProgress: 0, outdated: 0 },
];
for (const c of rollCases) {
  test(`roll progress: ${c.name}`, async (t) => {
    const metrics = new OperatorMetrics({ processMetrics: false });
    clusterGauges(metrics).observe(aCluster(), undefined, c.operation);
    t.is(await value(metrics, 'zookeeper_cluster_roll_in_progress'), c.inProgress);
    t.is(await value(metrics, 'zookeeper_cluster_roll_members_outdated'), c.outdated);
  });
}

const tlsCases: {
  name: string;
  status: { quorum?: string; client?: string } | undefined;
  quorum: number | undefined;
  client: number | undefined;
}[] = [
  {
    name: 'a plaintext cluster without spec.tls has no series',
    status: undefined,
    quorum: undefined,
    client: undefined,
  },
  {
    name: 'spec.tls on a plaintext ensemble',
    status: { quorum: 'plaintext', client: 'plaintext' },
    quorum: 0,
    client: 0,
  },
  { name: 'half way up', status: { quorum: 'sending-tls', client: 'secure-port' }, quorum: 2, client: 1 },
  { name: 'TLS only', status: { quorum: 'tls-only', client: 'tls-only' }, quorum: 3, client: 2 },
  {
    name: 'a rung this operator does not know has no series',
    status: { quorum: 'bogus' },
    quorum: undefined,
    client: undefined,
  },
];
for (const c of tlsCases) {
  test(`TLS phase gauges: ${c.name}`, async (t) => {
    const metrics = new OperatorMetrics({ processMetrics: false });
    clusterGauges(metrics).observeTlsPhase?.(aCluster(), c.status);
    t.is(await value(metrics, 'zookeeper_cluster_tls_quorum_phase'), c.quorum);
    t.is(await value(metrics, 'zookeeper_cluster_tls_client_phase'), c.client);
  });
}

test('TLS phase gauges follow the status down, and go when the status stops reporting TLS', async (t) => {
  const metrics = new OperatorMetrics({ processMetrics: false });
  const gauges = clusterGauges(metrics);
  gauges.observeTlsPhase?.(aCluster(), { quorum: 'tls-only', client: 'tls-only' });
  gauges.observeTlsPhase?.(aCluster(), { quorum: 'accepting-tls', client: 'secure-port' });
  t.is(await value(metrics, 'zookeeper_cluster_tls_quorum_phase'), 1);
  t.is(await value(metrics, 'zookeeper_cluster_tls_client_phase'), 1);
  gauges.observeTlsPhase?.(aCluster(), undefined);
  t.is(await value(metrics, 'zookeeper_cluster_tls_quorum_phase'), undefined);
  t.is(await value(metrics, 'zookeeper_cluster_tls_client_phase'), undefined);
});

test('the TLS phase gauges’ help names every rung of its ladder', async (t) => {
  const metrics = new OperatorMetrics({ processMetrics: false });
  clusterGauges(metrics);
  const help = async (name: string) => (await metrics.registry.getSingleMetric(name)?.get())?.help ?? '';
  t.regex(await help('zookeeper_cluster_tls_quorum_phase'), /0 plaintext, 1 accepting-tls, 2 sending-tls, 3 tls-only/);
  t.regex(await help('zookeeper_cluster_tls_client_phase'), /0 plaintext, 1 secure-port, 2 tls-only/);
});

test('forget removes every series of that cluster only, and its leader is no longer remembered', async (t) => {
  const metrics = new OperatorMetrics({ processMetrics: false });
  const gauges = clusterGauges(metrics);
  const other = aCluster({}, { name: 'other' });
  gauges.observe(aCluster(), assessEnsemble(healthyReadings(3, 3)), roll(0, 3));
  gauges.observeTlsPhase?.(aCluster(), { quorum: 'tls-only', client: 'secure-port' });
  gauges.observe(other, assessEnsemble(healthyReadings(3, 3)));
  gauges.observeTlsPhase?.(other, { quorum: 'plaintext', client: 'plaintext' });
  gauges.forget('default', 'example');
  const names = (await metrics.registry.getMetricsAsJSON()).flatMap((m) =>
    m.values.map((v) => `${m.name}/${v.labels.name}`),
  );
  t.false(
    names.some((n) => n.endsWith('/example')),
    names.join(' '),
  );
  t.true(names.includes('zookeeper_cluster_fault_tolerance/other'));
  t.true(names.includes('zookeeper_cluster_tls_quorum_phase/other'));
  // Seen again later (re-created under the same name): the first leader seen is no change.
  gauges.observe(aCluster(), assessEnsemble(healthyReadings(3, 2)));
  t.is(await value(metrics, 'zookeeper_cluster_leader_changes'), 0);
});
