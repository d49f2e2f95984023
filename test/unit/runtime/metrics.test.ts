import test from 'ava';
import { register as globalRegistry } from 'prom-client';
import { OperatorMetrics } from '../../../src/runtime/metrics.js';

async function sampleValue(metrics: OperatorMetrics, name: string, labels: Record<string, string> = {}) {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  return metric?.values.find((value) =>
    Object.entries(labels).every(([label, expected]) => value.labels[label] === expected),
  )?.value;
}

test('two operators in one process keep separate registries, and the global one stays empty', async (t) => {
  const first = new OperatorMetrics({ processMetrics: false });
  const second = new OperatorMetrics({ processMetrics: false });
  first.recordKubeRequest('GET', 200);
  t.is(await sampleValue(first, 'rest_client_requests_total', { verb: 'GET', code: '200' }), 1);
  t.is(await sampleValue(second, 'rest_client_requests_total', { verb: 'GET', code: '200' }), undefined);
  t.is(globalRegistry.getSingleMetric('rest_client_requests_total'), undefined);
});

test('work-queue hooks feed depth, latency in seconds and retries for the named queue', async (t) => {
  const metrics = new OperatorMetrics({ processMetrics: false });
  const hooks = metrics.workQueueHooks('zookeepercluster');
  hooks.onDepthChange?.(3);
  hooks.onQueueLatency?.(1_500);
  hooks.onRetry?.();
  hooks.onRetry?.();
  t.is(await sampleValue(metrics, 'workqueue_depth', { name: 'zookeepercluster' }), 3);
  const latency = await metrics.workQueueLatency.get();
  t.is(latency.values.find((value) => value.metricName === 'workqueue_queue_duration_seconds_sum')?.value, 1.5);
  t.is(await sampleValue(metrics, 'workqueue_retries_total', { name: 'zookeepercluster' }), 2);
});

test('a request without a response is counted with code "error"', async (t) => {
  const metrics = new OperatorMetrics({ processMetrics: false });
  metrics.recordKubeRequest('PATCH', undefined);
  t.is(await sampleValue(metrics, 'rest_client_requests_total', { verb: 'PATCH', code: 'error' }), 1);
});

test('a per-cluster gauge is created once and forgetCluster drops only that cluster', async (t) => {
  const metrics = new OperatorMetrics({ processMetrics: false });
  const gauge = metrics.clusterGauge('zookeeper_cluster_ready_members', 'Members serving requests.');
  t.is(metrics.clusterGauge('zookeeper_cluster_ready_members', 'Members serving requests.'), gauge);
  gauge.set({ namespace: 'zk', name: 'main' }, 3);
  gauge.set({ namespace: 'zk', name: 'other' }, 5);
  metrics.forgetCluster('zk', 'main');
  const values = (await gauge.get()).values.map((value) => [value.labels.name, value.value]);
  t.deepEqual(values, [['other', 5]]);
});

test('a per-member gauge keeps one series per member reported now; forgetCluster drops the cluster’s', async (t) => {
  const metrics = new OperatorMetrics({ processMetrics: false });
  const zxid = metrics.memberGauge('zookeeper_cluster_member_last_processed_zxid', 'Last processed zxid.');
  t.is(metrics.memberGauge('zookeeper_cluster_member_last_processed_zxid', 'Last processed zxid.'), zxid);
  const main = { namespace: 'zk', name: 'main' };
  zxid.setMembers(
    main,
    new Map([
      ['main-0', 10],
      ['main-1', 11],
      ['main-2', 12],
    ]),
  );
  zxid.setMembers({ namespace: 'zk', name: 'other' }, new Map([['other-0', 5]]));
  // main-1 no longer serves (or was removed): its series goes rather than showing a stale zxid.
  zxid.setMembers(
    main,
    new Map([
      ['main-0', 20],
      ['main-2', 22],
    ]),
  );
  const series = async () =>
    (await zxid.gauge.get()).values.map((value) => `${value.labels.name}/${value.labels.member}=${value.value}`).sort();
  t.deepEqual(await series(), ['main/main-0=20', 'main/main-2=22', 'other/other-0=5']);
  metrics.forgetCluster('zk', 'main');
  t.deepEqual(await series(), ['other/other-0=5']);
});

test('process metrics are on by default', async (t) => {
  const metrics = new OperatorMetrics();
  t.regex(await metrics.render(), /process_cpu_user_seconds_total/);
});
