import { ApiException } from '@kubernetes/client-node';
import test from 'ava';
import { FakeClock, flushMicrotasks } from '../../../src/runtime/clock.js';
import { type ReconcileContext, type Reconciler, runController } from '../../../src/runtime/controller.js';
import { MemoryLogger } from '../../../src/runtime/logging.js';
import { OperatorMetrics } from '../../../src/runtime/metrics.js';
import { WorkQueue } from '../../../src/runtime/work-queue.js';

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

function aController(reconcile: Reconciler, options: { workers?: number; signal?: AbortSignal } = {}) {
  const clock = new FakeClock();
  const logger = new MemoryLogger();
  const metrics = new OperatorMetrics({ processMetrics: false });
  const queue = new WorkQueue({ clock, backoff: { baseDelayMs: 100, maxDelayMs: 1_000 } });
  let nextId = 1;
  const controller = runController({
    name: 'zookeepercluster',
    queue,
    reconcile,
    workers: options.workers ?? 1,
    logger,
    metrics,
    clock,
    newReconcileId: () => `r-${nextId++}`,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  return { clock, logger, metrics, queue, controller };
}

async function counterValue(metrics: OperatorMetrics, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  const sample = metric?.values.find((value) =>
    Object.entries(labels).every(([label, expected]) => value.labels[label] === expected),
  );
  return sample?.value ?? 0;
}

test('a failing key backs off exponentially, is logged with key and reconcile id, and success forgets the back-off', async (t) => {
  let failuresLeft = 3;
  const calls: string[] = [];
  const { clock, logger, metrics, queue } = aController(async (key, ctx) => {
    calls.push(`${key}#${ctx.reconcileId}`);
    if (failuresLeft-- > 0) throw new Error('statefulset zk/main not ready');
  });
  queue.add('zk/main');
  await flushMicrotasks();
  t.deepEqual(clock.pendingDelays(), [100]);
  await clock.advance(100);
  t.deepEqual(clock.pendingDelays(), [200]);
  await clock.advance(200);
  t.deepEqual(clock.pendingDelays(), [400]);
  await clock.advance(400);
  t.deepEqual(calls, ['zk/main#r-1', 'zk/main#r-2', 'zk/main#r-3', 'zk/main#r-4']);
  t.deepEqual(clock.pendingDelays(), [], 'success does not requeue');
  t.is(queue.numRequeues('zk/main'), 0, 'success forgot the back-off');

  const errorLines = logger.lines.filter((line) => line.level === 'error');
  t.is(errorLines.length, 3);
  t.like(errorLines[0]?.fields, {
    controller: 'zookeepercluster',
    key: 'zk/main',
    reconcileId: 'r-1',
    error: 'statefulset zk/main not ready',
    retryInMs: 100,
  });
  t.is(await counterValue(metrics, 'controller_runtime_reconcile_errors_total', {}), 3);
  t.is(await counterValue(metrics, 'controller_runtime_reconcile_total', { result: 'error' }), 3);
  t.is(await counterValue(metrics, 'controller_runtime_reconcile_total', { result: 'success' }), 1);
});

test('requeueAfterMs reconciles the key again after that delay', async (t) => {
  let calls = 0;
  const { clock, metrics, queue } = aController(async () => {
    calls++;
    return { requeueAfterMs: 30_000 };
  });
  queue.add('zk/main');
  await flushMicrotasks();
  t.is(calls, 1);
  t.deepEqual(clock.pendingDelays(), [30_000]);
  await clock.advance(29_999);
  t.is(calls, 1);
  await clock.advance(1);
  t.is(calls, 2);
  t.is(await counterValue(metrics, 'controller_runtime_reconcile_total', { result: 'requeue_after' }), 2);
});

test('a conflict is retried and logged at info, a transient failure at warn', async (t) => {
  const errors = [
    new ApiException(
      409,
      'conflict',
      JSON.stringify({ reason: 'Conflict', message: 'the object has been modified' }),
      {},
    ),
    new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    }),
  ];
  const { clock, logger, queue } = aController(async () => {
    const err = errors.shift();
    if (err !== undefined) throw err;
  });
  queue.add('zk/main');
  await flushMicrotasks();
  await clock.advance(100);
  await clock.advance(200);
  t.deepEqual(
    logger.lines.filter((line) => line.fields.key === 'zk/main').map((line) => [line.level, line.fields.errorKind]),
    [
      ['info', 'conflict'],
      ['warn', 'transient'],
    ],
  );
});

test('with several workers, different keys run concurrently but one key never does', async (t) => {
  const running = new Map<string, number>();
  let maxConcurrentForOneKey = 0;
  const release = deferred();
  const started: string[] = [];
  const { queue } = aController(
    async (key) => {
      const now = (running.get(key) ?? 0) + 1;
      running.set(key, now);
      maxConcurrentForOneKey = Math.max(maxConcurrentForOneKey, now);
      started.push(key);
      await release.promise;
      running.set(key, now - 1);
    },
    { workers: 3 },
  );
  queue.add('zk/a');
  queue.add('zk/b');
  await flushMicrotasks();
  queue.add('zk/a');
  await flushMicrotasks();
  t.deepEqual(started, ['zk/a', 'zk/b'], 'the third worker does not take zk/a while it runs');
  release.resolve();
  await flushMicrotasks();
  await flushMicrotasks();
  t.deepEqual(started, ['zk/a', 'zk/b', 'zk/a'], 'zk/a runs once more after it finished');
  t.is(maxConcurrentForOneKey, 1);
});

test('stop lets an in-flight reconcile finish and the workers exit', async (t) => {
  const release = deferred();
  let signal: AbortSignal | undefined;
  const { queue, controller } = aController(
    async (_key, ctx: ReconcileContext) => {
      signal = ctx.signal;
      await release.promise;
    },
    { workers: 2 },
  );
  queue.add('zk/main');
  await flushMicrotasks();
  const stopped = controller.stop({ drainTimeoutMs: 10_000 });
  queue.add('zk/other');
  release.resolve();
  t.deepEqual(await stopped, { drained: true, abandoned: [] });
  await controller.finished;
  t.true(signal?.aborted, 'the context is aborted once stopped');
});

test('an external abort (leadership lost) aborts the reconcile context at once', async (t) => {
  const leadership = new AbortController();
  const reconcileSawAbort = deferred<unknown>();
  const { clock, controller, queue } = aController(
    (_key, ctx) =>
      new Promise((resolve) => {
        ctx.signal.addEventListener('abort', () => {
          reconcileSawAbort.resolve(ctx.signal.reason);
          resolve(undefined);
        });
      }),
    { signal: leadership.signal },
  );
  queue.add('zk/main');
  await flushMicrotasks();
  leadership.abort(new Error('lease lost'));
  t.is(((await reconcileSawAbort.promise) as Error).message, 'lease lost');
  await clock.advance(0);
  await controller.finished;
  t.true(queue.isShuttingDown);
});

test('a reconcile that fails during shutdown is logged as not retried', async (t) => {
  const release = deferred();
  const { controller, logger, queue } = aController(async () => {
    await release.promise;
    throw new Error('apply interrupted');
  });
  queue.add('zk/main');
  await flushMicrotasks();
  const stopped = controller.stop({ drainTimeoutMs: 10_000 });
  release.resolve();
  await stopped;
  t.like(
    logger.lines.find((line) => line.fields.key === 'zk/main'),
    {
      level: 'warn',
      message: 'reconcile failed during shutdown; not retried',
    },
  );
});

test('workers must be a positive integer', (t) => {
  t.throws(() => aController(async () => undefined, { workers: 0 }), { message: /workers must be a positive integer/ });
});

test('after leadership ends, a reconcile that fails is abandoned, not retried, and no handed-out key starts', async (t) => {
  const leadership = new AbortController();
  const release = deferred();
  const calls: string[] = [];
  const { clock, logger, metrics, queue } = aController(
    async (key) => {
      calls.push(key);
      await release.promise;
      throw new Error('write refused: leadership lost');
    },
    { workers: 2, signal: leadership.signal },
  );
  queue.add('zk/a');
  await flushMicrotasks();
  queue.add('zk/b'); // handed to the idle worker, which has not run it yet
  leadership.abort(new Error('leadership lost: the lease is now held by operator-b'));
  release.resolve();
  await flushMicrotasks();
  await flushMicrotasks();
  t.deepEqual(calls, ['zk/a'], 'zk/b never started');
  t.like(
    logger.lines.find((line) => line.fields.key === 'zk/a'),
    {
      level: 'info',
      message: 'reconcile abandoned: the controller stopped acting',
      fields: { error: 'write refused: leadership lost', why: 'leadership lost: the lease is now held by operator-b' },
    },
  );
  t.deepEqual(clock.pendingDelays(), [], 'no back-off retry');
  t.is(await counterValue(metrics, 'controller_runtime_reconcile_total', { result: 'abandoned' }), 1);
  t.is(await counterValue(metrics, 'controller_runtime_reconcile_errors_total', {}), 0);
});

test('assertActing refuses once leadership refuses, once aborted, and once stopped', async (t) => {
  const leadership = new AbortController();
  let deposed = false;
  const elected = runController({
    name: 'zookeepercluster',
    queue: new WorkQueue({ clock: new FakeClock() }),
    reconcile: async () => undefined,
    workers: 1,
    logger: new MemoryLogger(),
    signal: leadership.signal,
    assertMayAct: () => {
      if (deposed) throw new Error('past the renew deadline');
    },
  });
  t.notThrows(() => elected.assertActing());
  deposed = true;
  t.throws(() => elected.assertActing(), { message: 'past the renew deadline' });
  deposed = false;
  leadership.abort(new Error('leadership lost'));
  t.throws(() => elected.assertActing(), { message: 'leadership lost' });
  await elected.finished;

  const { controller } = aController(async () => undefined);
  t.notThrows(() => controller.assertActing());
  await controller.stop({ drainTimeoutMs: 0 });
  t.throws(() => controller.assertActing(), { message: 'controller zookeepercluster stopped' });
});
