/**
 * A quiet status, end to end: a settled cluster under a client that writes all the time costs
 * no Kubernetes API write, and reading its health costs a bounded number of connections per
 * member, growing neither with the client's traffic nor with pod events.
 *
 * Connections are counted by ZooKeeper itself: each member logs every four-letter word it serves
 * with the asker's address ("Processing srvr command from /10.x.y.1:port"). The operator runs in
 * this process, in the node's network namespace, so it asks from the pod's host IP; the probes
 * ask from 127.0.0.1 inside the pod and are not counted.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import test from 'ava';
import type { RunningOperator } from '../../src/operator.js';
import type { ApiRequest } from '../../src/runtime/api-client.js';
import { READING_MAX_AGE_MS } from '../../src/zookeeper/ensemble-reader.js';
import { controlPlane, newNamespace } from '../harness/fixture.js';
import { connectionString, createCluster, memberPods, readCluster } from '../support/clusters.js';
import { operatorWords } from '../support/member-logs.js';
import { reconcileCount, runOperator, settled } from '../support/operator.js';
import { ZnodeWriter } from '../support/znode-writer.js';

const WRITER_WINDOW_MS = 60_000;
const EVENTS_WINDOW_MS = 20_000;
/** How often the test changes a member pod (an annotation), so the pod informer triggers reconciles. */
const POKE_EVERY_MS = 250;
/** Words per reading: srvr, mntr, conf. */
const WORDS = 3;

/** Each member's `zookeeper_cluster_member_last_processed_zxid` as the operator exports it. */
async function zxidMetric(operator: RunningOperator): Promise<Map<string, number>> {
  const metrics = await operator.metrics.render();
  return new Map(
    [...metrics.matchAll(/^zookeeper_cluster_member_last_processed_zxid\{[^}]*member="([^"]+)"[^}]*\} (\d+)/gm)].map(
      (match) => [match[1] ?? '', Number(match[2])],
    ),
  );
}

const isWrite = (request: ApiRequest) => !['GET', 'HEAD', 'OPTIONS'].includes(request.method);

interface Window {
  writes: ApiRequest[];
  reconciles: number;
  /** Operator connections per member. */
  connections: Map<string, number>;
  elapsedMs: number;
}

/** Measures what the operator does while `during` runs. */
async function measure(
  operator: RunningOperator,
  requests: ApiRequest[],
  pods: readonly V1Pod[],
  during: () => Promise<void>,
): Promise<Window> {
  const fromRequest = requests.length;
  const reconcilesBefore = await reconcileCount(operator.metrics.render());
  const wordsBefore = await operatorWords(pods);
  const started = performance.now();
  await during();
  const elapsedMs = performance.now() - started;
  const wordsAfter = await operatorWords(pods);
  return {
    writes: requests.slice(fromRequest).filter(isWrite),
    reconciles: (await reconcileCount(operator.metrics.render())) - reconcilesBefore,
    // One connection per word: the reader opens a connection for each word it asks.
    connections: new Map([...wordsAfter].map(([pod, words]) => [pod, words - (wordsBefore.get(pod) ?? 0)])),
    elapsedMs,
  };
}

/** A reading is reused for a second: at most one per member per second, plus one at each edge of the window. */
const readingsAtMost = (window: Window) => Math.floor(window.elapsedMs / READING_MAX_AGE_MS) + 2;

const summary = (window: Window) =>
  `${window.reconciles} reconciles in ${(window.elapsedMs / 1000).toFixed(1)} s; 4lw connections per member ${JSON.stringify(Object.fromEntries(window.connections))}; API writes ${window.writes.length}`;

test.serial(
  'a settled cluster under a busy writer makes no API write, and reading it costs a bounded number of connections per member',
  async (t) => {
    const namespace = await newNamespace(t);
    const { operator, requests } = await runOperator(t, namespace);
    await createCluster(namespace, 'zk', { replicas: 3, storage: { size: '1Gi' } });
    await settled(namespace, 'zk', operator);
    const pods = await memberPods(namespace, 'zk');
    const statusBefore = (await readCluster(namespace, 'zk')).status;

    const writer = await ZnodeWriter.start(() => connectionString(namespace, 'zk'), '/quiet');
    t.teardown(() => writer.stop().catch(() => undefined));
    const zxidBefore = await zxidMetric(operator);
    const writesBefore = writer.count;

    // 1. Only the client's traffic: the operator looks at the cluster at its resyncs, and writes nothing.
    const busy = await measure(operator, requests, pods, () => delay(WRITER_WINDOW_MS));
    const acknowledged = writer.count - writesBefore;
    t.log(`writer: ${acknowledged} znodes in ${(busy.elapsedMs / 1000).toFixed(1)} s; ${summary(busy)}`);
    t.true(acknowledged > 0, 'the client wrote throughout');
    t.deepEqual(busy.writes, [], 'no API write, so no status PATCH');
    t.deepEqual((await readCluster(namespace, 'zk')).status, statusBefore, 'the status is as it was');
    for (const [pod, connections] of busy.connections) {
      t.true(connections > 0, `${pod}: the operator read it at its resync`);
      // At most one reading per reconcile (plus one in flight at the window's end), whatever the traffic.
      t.true(
        connections <= WORDS * Math.min(busy.reconciles + 1, readingsAtMost(busy)),
        `${pod}: ${connections} connections (${busy.reconciles} reconciles)`,
      );
    }
    // The zxid moved with the writes: it is in the metrics, not in the status.
    const zxidAfter = await zxidMetric(operator);
    t.is(zxidAfter.size, 3, [...zxidAfter.keys()].join(', '));
    for (const [pod, zxid] of zxidAfter) t.true(zxid > (zxidBefore.get(pod) ?? 0), `${pod}: zxid ${zxid}`);

    // 2. Pod events on top, several a second: reconciles follow them, readings do not.
    const core = (await controlPlane()).kubeConfig.makeApiClient(CoreV1Api);
    const poked = pods[0]?.metadata?.name ?? '';
    let pokes = 0;
    const eventful = await measure(operator, requests, pods, async () => {
      const until = performance.now() + EVENTS_WINDOW_MS;
      while (performance.now() < until) {
        await core.patchNamespacedPod(
          {
            namespace,
            name: poked,
            body: { metadata: { annotations: { 'test.zookeeper-operator/poke': `${pokes++}` } } },
          },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
        await delay(POKE_EVERY_MS);
      }
    });
    t.log(`${pokes} pod changes; ${summary(eventful)}`);
    t.deepEqual(eventful.writes, [], 'events trigger reconciles, not writes');
    for (const [pod, connections] of eventful.connections) {
      t.true(connections > 0, `${pod}: the operator read it`);
      t.true(
        connections <= WORDS * readingsAtMost(eventful),
        `${pod}: ${connections} connections in ${eventful.elapsedMs} ms (${eventful.reconciles} reconciles)`,
      );
    }

    const report = await writer.stop();
    t.log(`writes acknowledged ${report.acknowledged}, failed ${report.failed}, longest gap ${report.longestGapMs} ms`);
    t.deepEqual(report.lost, []);
  },
);
