import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CoreV1Api, KubeConfig, type V1OwnerReference, type V1Pod } from '@kubernetes/client-node';
import test, { type ExecutionContext } from 'ava';
import { type Clock, systemClock } from '../../../src/runtime/clock.js';
import {
  Informer,
  type InformerOptions,
  ownerKeys,
  ownKey,
  type WatchedResource,
} from '../../../src/runtime/informer.js';
import { MemoryLogger } from '../../../src/runtime/logging.js';

// A fake API server on 127.0.0.1: each test scripts the answer to every LIST and WATCH.

interface ApiCall {
  readonly kind: 'LIST' | 'WATCH';
  readonly namespace: string | undefined;
  readonly query: URLSearchParams;
  /** 1-based count of calls of this kind in this namespace. */
  readonly attempt: number;
}
type Script = (call: ApiCall, response: ServerResponse) => void;

async function aFakeApiServer(t: ExecutionContext, script: Script) {
  const log: string[] = [];
  const attempts = new Map<string, number>();
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://fake');
    const namespace = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(url.pathname)?.[1];
    const kind = url.searchParams.get('watch') === 'true' ? 'WATCH' : 'LIST';
    const counter = `${kind} ${namespace ?? '*'}`;
    const attempt = (attempts.get(counter) ?? 0) + 1;
    attempts.set(counter, attempt);
    const rv = url.searchParams.get('resourceVersion');
    log.push(kind === 'WATCH' ? `${counter} rv=${rv}` : counter);
    script({ kind, namespace, query: url.searchParams, attempt }, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [
      { name: 'fake', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true },
    ],
    users: [{ name: 'operator', token: 'test-token' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'operator' }],
    currentContext: 'fake',
  });
  return { kubeConfig, log };
}

function aPod(
  name: string,
  options: { namespace?: string; rv: string; owner?: Partial<V1OwnerReference> & { kind: string; name: string } },
): V1Pod {
  const ownerReferences = options.owner && [
    {
      apiVersion: 'zookeeper.example.com/v1alpha1',
      uid: `uid-${options.owner.name}`,
      controller: true,
      ...options.owner,
    },
  ];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: options.namespace ?? 'zk',
      resourceVersion: options.rv,
      ...(ownerReferences ? { ownerReferences } : {}),
    },
  };
}

function sendList(response: ServerResponse, resourceVersion: string, items: V1Pod[]): void {
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion }, items }));
}

function sendStatus(response: ServerResponse, code: number): void {
  response.writeHead(code, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ kind: 'Status', status: 'Failure', code, message: `injected ${code}` }));
}

/** Streams watch events; leaves the stream open unless `end` is set. */
function streamEvents(response: ServerResponse, events: Array<{ type: string; object: unknown }>, end = false): void {
  response.writeHead(200, { 'content-type': 'application/json' });
  // The apiserver sends a watch's headers at once; Node would hold them until the first write.
  response.flushHeaders();
  for (const event of events) response.write(`${JSON.stringify(event)}\n`);
  if (end) response.end();
}

function podsResource(kubeConfig: KubeConfig): WatchedResource<V1Pod> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  return {
    name: 'pods',
    path: (namespace) => (namespace === undefined ? '/api/v1/pods' : `/api/v1/namespaces/${namespace}/pods`),
    list: ({ namespace, labelSelector }) => {
      const selector = labelSelector === undefined ? {} : { labelSelector };
      return namespace === undefined
        ? core.listPodForAllNamespaces(selector)
        : core.listNamespacedPod({ namespace, ...selector });
    },
  };
}

function anInformer(
  t: ExecutionContext,
  kubeConfig: KubeConfig,
  options: Partial<Omit<InformerOptions<V1Pod>, 'kubeConfig' | 'resource' | 'enqueue' | 'logger'>> = {},
) {
  const enqueued: string[] = [];
  const logger = new MemoryLogger();
  const informer = new Informer<V1Pod>({
    kubeConfig,
    resource: podsResource(kubeConfig),
    namespaces: ['zk'],
    keysFor: ownKey,
    enqueue: (key) => enqueued.push(key),
    logger,
    restartBackoff: { initialDelayMs: 50, maxDelayMs: 1_000 },
    ...options,
  });
  t.teardown(() => informer.stop());
  return { informer, enqueued, logger };
}

async function eventually(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The system clock, recording the delay of every timer set through it. */
function aRecordingClock(): Clock & { delays: number[] } {
  const clock = systemClock();
  const delays: number[] = [];
  return {
    delays,
    now: () => clock.now(),
    monotonicMs: () => clock.monotonicMs(),
    setTimeout: (callback, delayMs) => {
      delays.push(delayMs);
      return clock.setTimeout(callback, delayMs);
    },
    clearTimeout: (handle) => clock.clearTimeout(handle),
  };
}

test('events map to the key of the controller owner of the given kind', async (t) => {
  const owner = { kind: 'ZookeeperCluster', name: 'main' };
  const { kubeConfig } = await aFakeApiServer(t, (call, response) => {
    if (call.kind === 'LIST') {
      sendList(response, '10', [
        aPod('main-0', { rv: '10', owner }),
        aPod('web-abc', { rv: '10', owner: { kind: 'ReplicaSet', name: 'web', apiVersion: 'apps/v1' } }),
        aPod('main-debug', { rv: '10', owner: { ...owner, controller: false } }),
        aPod('other-0', { rv: '10', owner: { ...owner, name: 'other', apiVersion: 'example.org/v1' } }),
      ]);
    } else {
      streamEvents(response, [
        { type: 'ADDED', object: aPod('main-1', { rv: '11', owner }) },
        { type: 'MODIFIED', object: aPod('main-0', { rv: '12', owner }) },
        { type: 'DELETED', object: aPod('web-abc', { rv: '13', owner: { kind: 'ReplicaSet', name: 'web' } }) },
        { type: 'DELETED', object: aPod('main-1', { rv: '14', owner }) },
      ]);
    }
  });
  const { informer, enqueued } = anInformer(t, kubeConfig, {
    keysFor: ownerKeys('ZookeeperCluster', 'zookeeper.example.com'),
  });
  informer.start();
  t.true(await informer.waitForSync(5_000));
  await eventually(() => enqueued.length >= 4, 'four owner keys');
  // LIST main-0, ADDED main-1, MODIFIED main-0, DELETED main-1; the ReplicaSet pod, the
  // non-controller reference and the owner from another API group map to nothing.
  t.deepEqual(enqueued, ['zk/main', 'zk/main', 'zk/main', 'zk/main']);
  t.is(informer.get('main-0', 'zk')?.metadata?.resourceVersion, '12');
  t.is(informer.get('main-1', 'zk'), undefined);
  t.true(informer.healthy);
});

test('a 410 Gone on the watch makes the informer relist and resume from the new resourceVersion', async (t) => {
  const { kubeConfig, log } = await aFakeApiServer(t, (call, response) => {
    if (call.kind === 'LIST' && call.attempt === 1) {
      sendList(response, '10', [aPod('zk-0', { rv: '9' }), aPod('zk-1', { rv: '10' })]);
    } else if (call.kind === 'LIST') {
      sendList(response, '20', [aPod('zk-0', { rv: '9' })]);
    } else if (call.attempt === 1) {
      streamEvents(
        response,
        [
          {
            type: 'ERROR',
            object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' },
          },
        ],
        true,
      );
    } else {
      streamEvents(response, []);
    }
  });
  const { informer, enqueued, logger } = anInformer(t, kubeConfig);
  informer.start();
  t.true(await informer.waitForSync(5_000));
  await eventually(() => log.length >= 4, 'relist and second watch');
  t.deepEqual(log.slice(0, 4), ['LIST zk', 'WATCH zk rv=10', 'LIST zk', 'WATCH zk rv=20']);
  await eventually(() => enqueued.length >= 3, 'delete of zk-1 after the relist');
  t.deepEqual(enqueued, ['zk/zk-0', 'zk/zk-1', 'zk/zk-1'], 'zk-1 vanished in the relist and is enqueued again');
  t.is(informer.get('zk-1', 'zk'), undefined);
  t.true(informer.healthy, 'a 410 is routine, not an outage');
  t.false(
    logger.lines.some((line) => line.level === 'warn'),
    'the 410 was handled by ListWatch itself',
  );
});

test('a 500 on the watch and a failed LIST are retried with doubling back-off, each restart relisting', async (t) => {
  const healthyWhenCalled: boolean[] = [];
  let informerRef: Informer<V1Pod> | undefined;
  const { kubeConfig, log } = await aFakeApiServer(t, (call, response) => {
    healthyWhenCalled.push(informerRef?.healthy ?? false);
    if (call.kind === 'LIST' && call.attempt === 1) {
      sendList(response, '10', [aPod('zk-0', { rv: '10' }), aPod('zk-1', { rv: '10' })]);
    } else if (call.kind === 'LIST' && call.attempt === 2) {
      sendStatus(response, 503);
    } else if (call.kind === 'LIST') {
      sendList(response, '30', [aPod('zk-0', { rv: '25' })]);
    } else if (call.attempt === 1) {
      streamEvents(response, [], true); // a normal server-side close: ListWatch re-watches by itself
    } else if (call.attempt === 2) {
      sendStatus(response, 500); // ListWatch gives up here
    } else {
      streamEvents(response, []);
    }
  });
  const clock = aRecordingClock();
  const { informer, enqueued, logger } = anInformer(t, kubeConfig, { clock });
  informerRef = informer;
  informer.start();
  await eventually(() => log.length >= 6, 'three LISTs and the third watch');
  await eventually(() => informer.healthy, 'healthy again');

  t.deepEqual(log, ['LIST zk', 'WATCH zk rv=10', 'WATCH zk rv=10', 'LIST zk', 'LIST zk', 'WATCH zk rv=30']);
  t.deepEqual(clock.delays, [50, 100], 'restart back-off doubles');
  t.deepEqual(
    healthyWhenCalled,
    [true, true, true, false, false, false],
    'healthy until the watch fails, then unhealthy until a restart has listed and connected',
  );
  const warnings = logger.lines.filter((line) => line.level === 'warn');
  t.deepEqual(
    warnings.map((line) => [line.fields.statusCode, line.fields.retryInMs]),
    [
      [500, 50],
      [undefined, 100],
    ],
  );
  t.regex(String(warnings[1]?.fields.error), /503/);
  t.true(informer.synced);
  t.is(informer.get('zk-0', 'zk')?.metadata?.resourceVersion, '25', 'the cache was replaced by the relist');
  t.is(informer.get('zk-1', 'zk'), undefined);
  t.deepEqual(enqueued, ['zk/zk-0', 'zk/zk-1', 'zk/zk-1', 'zk/zk-0'], 'zk-1, deleted during the outage, is enqueued');
});

test('the restart back-off starts over once a watch stayed up for the longest delay', async (t) => {
  const { kubeConfig, log } = await aFakeApiServer(t, (call, response) => {
    if (call.kind === 'LIST') return sendList(response, String(call.attempt * 10), [aPod('zk-0', { rv: '1' })]);
    if (call.attempt === 1 || call.attempt === 3) return sendStatus(response, 500);
    // Watch 2 stays up past maxDelayMs, then closes normally; ListWatch re-watches (3), which fails.
    streamEvents(response, []);
    setTimeout(() => response.end(), 300);
  });
  const clock = aRecordingClock();
  const { informer } = anInformer(t, kubeConfig, { clock, restartBackoff: { initialDelayMs: 50, maxDelayMs: 200 } });
  informer.start();
  await eventually(() => log.length >= 6, 'third LIST and its watch');
  t.deepEqual(log.slice(0, 6), ['LIST zk', 'WATCH zk rv=10', 'LIST zk', 'WATCH zk rv=20', 'WATCH zk rv=20', 'LIST zk']);
  t.deepEqual(clock.delays, [50, 50], 'the second failure came after 300 ms of a healthy watch');
});

test('readiness fails with the reason until synced; the watch spans each listed namespace with the label selector', async (t) => {
  let releaseListOfB: (() => void) | undefined;
  const { kubeConfig, log } = await aFakeApiServer(t, (call, response) => {
    t.is(call.query.get('labelSelector'), 'app.kubernetes.io/managed-by=zookeeper-operator');
    if (call.kind === 'WATCH') return streamEvents(response, []);
    const namespace = call.namespace ?? '';
    const respond = () => sendList(response, '5', [aPod(`${namespace}-pod`, { rv: '5', namespace })]);
    if (namespace === 'b') releaseListOfB = respond;
    else respond();
  });
  const { informer } = anInformer(t, kubeConfig, {
    namespaces: ['b', 'a'],
    labelSelector: 'app.kubernetes.io/managed-by=zookeeper-operator',
  });
  const readiness = informer.readinessCheck();
  t.deepEqual(readiness(), {
    ok: false,
    reason: 'pods in a: stopped; pods in b: stopped',
  });
  informer.start();
  await eventually(() => readiness().ok === false && !JSON.stringify(readiness()).includes('pods in a'), 'a synced');
  t.true(log.includes('WATCH a rv=5'));
  t.false(informer.synced);
  t.deepEqual(readiness(), { ok: false, reason: 'pods in b: not synced' });
  releaseListOfB?.();
  t.true(await informer.waitForSync(5_000));
  t.deepEqual(readiness(), { ok: true });
  t.deepEqual(
    informer
      .list()
      .map((pod) => pod.metadata?.name)
      .sort(),
    ['a-pod', 'b-pod'],
  );
  t.is(informer.list('b').length, 1);
  t.is(informer.get('a-pod', 'a')?.metadata?.namespace, 'a');
  t.is(informer.get('a-pod', 'b'), undefined);
});

test('waitForSync gives up after its timeout while the first LIST hangs', async (t) => {
  const { kubeConfig } = await aFakeApiServer(t, () => {
    // Never answer: the LIST hangs.
  });
  const { informer } = anInformer(t, kubeConfig);
  informer.start();
  t.false(await informer.waitForSync(100));
  t.false(informer.synced);
});

test('the cache holds objects without managedFields, from the LIST and from watch events', async (t) => {
  const managedFields = [
    { manager: 'kubelet', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': {} } },
  ];
  const withManagedFields = (pod: V1Pod): V1Pod => ({ ...pod, metadata: { ...pod.metadata, managedFields } });
  const { kubeConfig } = await aFakeApiServer(t, (call, response) => {
    if (call.kind === 'LIST') sendList(response, '10', [withManagedFields(aPod('zk-0', { rv: '10' }))]);
    else streamEvents(response, [{ type: 'ADDED', object: withManagedFields(aPod('zk-1', { rv: '11' })) }]);
  });
  const { informer } = anInformer(t, kubeConfig);
  informer.start();
  t.true(await informer.waitForSync(5_000));
  await eventually(() => informer.get('zk-1', 'zk') !== undefined, 'the watched pod in the cache');
  for (const name of ['zk-0', 'zk-1']) {
    const cached = informer.get(name, 'zk');
    t.is(cached?.metadata?.name, name);
    t.is(cached?.metadata?.managedFields, undefined, `${name} without managedFields`);
  }
});
