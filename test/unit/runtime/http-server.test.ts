import test from 'ava';
import { type CheckResult, parseBindAddress, startProbeServer } from '../../../src/runtime/http-server.js';
import { MemoryLogger } from '../../../src/runtime/logging.js';
import { OperatorMetrics } from '../../../src/runtime/metrics.js';

async function aProbeServer(readinessChecks: Record<string, () => CheckResult> = {}) {
  const metrics = new OperatorMetrics({ processMetrics: false });
  const server = await startProbeServer({
    bindAddress: '127.0.0.1:0',
    readinessChecks,
    metrics,
    logger: new MemoryLogger(),
  });
  const url = (path: string) => `http://127.0.0.1:${server.address.port}${path}`;
  return { server, metrics, url };
}

test('/healthz answers 200 while the process runs', async (t) => {
  const { server, url } = await aProbeServer();
  t.teardown(() => server.close());
  const response = await fetch(url('/healthz'));
  t.is(response.status, 200);
  t.regex(await response.text(), /healthz check passed/);
});

test('/readyz answers 503 naming the failing check until caches sync, then 200', async (t) => {
  let synced = false;
  const { server, url } = await aProbeServer({
    'informer/zookeeperclusters': () => (synced ? { ok: true } : { ok: false, reason: 'cache not synced' }),
    'informer/statefulsets': () => ({ ok: true }),
  });
  t.teardown(() => server.close());

  const before = await fetch(url('/readyz'));
  t.is(before.status, 503);
  t.is(
    await before.text(),
    '[+]informer/statefulsets ok\n[-]informer/zookeeperclusters failed: cache not synced\nreadyz check failed\n',
  );

  synced = true;
  const after = await fetch(url('/readyz'));
  t.is(after.status, 200);
  t.regex(await after.text(), /readyz check passed/);
});

test('a readiness check added later counts, and one that throws fails readiness', async (t) => {
  const { server, url } = await aProbeServer();
  t.teardown(() => server.close());
  t.is((await fetch(url('/readyz'))).status, 200);
  server.setReadinessCheck('leader-election', () => {
    throw new Error('lease client not configured');
  });
  const response = await fetch(url('/readyz'));
  t.is(response.status, 503);
  t.regex(await response.text(), /\[-\]leader-election failed: check threw: lease client not configured/);
});

test('/metrics serves the operator metrics in Prometheus text format', async (t) => {
  const { server, url, metrics } = await aProbeServer();
  t.teardown(() => server.close());
  metrics.reconcileTotal.inc({ controller: 'zookeepercluster', result: 'success' });
  metrics.recordKubeRequest('PATCH', 200);
  metrics
    .clusterGauge('zookeeper_cluster_ready_members', 'Members serving requests.')
    .set({ namespace: 'zk', name: 'main' }, 3);
  const response = await fetch(url('/metrics'));
  t.is(response.status, 200);
  t.regex(response.headers.get('content-type') ?? '', /text\/plain/);
  const body = await response.text();
  for (const name of [
    'controller_runtime_reconcile_total',
    'controller_runtime_reconcile_errors_total',
    'controller_runtime_reconcile_time_seconds',
    'workqueue_depth',
    'workqueue_queue_duration_seconds',
    'workqueue_retries_total',
    'rest_client_requests_total',
  ]) {
    t.true(body.includes(`# TYPE ${name} `), `${name} is exported`);
  }
  t.true(body.includes('controller_runtime_reconcile_total{controller="zookeepercluster",result="success"} 1'));
  t.true(body.includes('rest_client_requests_total{verb="PATCH",code="200"} 1'));
  t.true(body.includes('zookeeper_cluster_ready_members{namespace="zk",name="main"} 3'));

  metrics.forgetCluster('zk', 'main');
  t.false((await (await fetch(url('/metrics'))).text()).includes('zookeeper_cluster_ready_members{'));
});

test('unknown paths answer 404 and other methods 405', async (t) => {
  const { server, url } = await aProbeServer();
  t.teardown(() => server.close());
  t.is((await fetch(url('/nope'))).status, 404);
  t.is((await fetch(url('/healthz'), { method: 'POST' })).status, 405);
});

const bindCases = [
  { input: ':8081', expected: { host: '0.0.0.0', port: 8081 } },
  { input: '127.0.0.1:8080', expected: { host: '127.0.0.1', port: 8080 } },
  { input: '[::1]:9000', expected: { host: '::1', port: 9000 } },
];
for (const c of bindCases) {
  test(`bind address ${c.input} parses`, (t) => {
    t.deepEqual(parseBindAddress(c.input), c.expected);
  });
}

test('a bind address without a port is rejected', (t) => {
  t.throws(() => parseBindAddress('localhost'), { message: /invalid bind address "localhost"/ });
  t.throws(() => parseBindAddress(':70000'), { message: /invalid bind address/ });
});
