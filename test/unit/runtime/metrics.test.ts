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

test('process metrics are on by default', async (t) => {
  const metrics = new OperatorMetrics();
  t.regex(await metrics.render(), /process_cpu_user_seconds_total/);
});
