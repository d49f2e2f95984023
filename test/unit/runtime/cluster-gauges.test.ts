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

test('forget removes every series of that cluster only, and its leader is no longer remembered', async (t) => {
  const metrics = new OperatorMetrics({ processMetrics: false });
  const gauges = clusterGauges(metrics);
  const other = aCluster({}, { name: 'other' });
  gauges.observe(aCluster(), assessEnsemble(healthyReadings(3, 3)), roll(0, 3));
  gauges.observe(other, assessEnsemble(healthyReadings(3, 3)));
  gauges.forget('default', 'example');
  const names = (await metrics.registry.getMetricsAsJSON()).flatMap((m) =>
    m.values.map((v) => `${m.name}/${v.labels.name}`),
  );
  t.false(
    names.some((n) => n.endsWith('/example')),
    names.join(' '),
  );
  t.true(names.includes('zookeeper_cluster_fault_tolerance/other'));
  // Seen again later (re-created under the same name): the first leader seen is no change.
  gauges.observe(aCluster(), assessEnsemble(healthyReadings(3, 2)));
  t.is(await value(metrics, 'zookeeper_cluster_leader_changes'), 0);
});
