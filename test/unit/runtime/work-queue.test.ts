import test from 'ava';
import fc from 'fast-check';
import { FakeClock, flushMicrotasks } from '../../../src/runtime/clock.js';
import { ExponentialBackoff, WorkQueue, type WorkQueueOptions } from '../../../src/runtime/work-queue.js';

function aQueue(options: Omit<WorkQueueOptions, 'clock'> = {}) {
  const clock = new FakeClock();
  return { clock, queue: new WorkQueue({ clock, ...options }) };
}

/** Takes every key that is ready right now, in order, marking each as processing. */
async function takeAllReady(queue: WorkQueue): Promise<string[]> {
  const keys: string[] = [];
  while (queue.depth > 0) {
    const key = await queue.get();
    if (key === undefined) break;
    keys.push(key);
  }
  return keys;
}

test('repeated adds of one key give one entry', async (t) => {
  const { queue } = aQueue();
  for (let i = 0; i < 5; i++) queue.add('zk/a');
  queue.add('zk/b');
  queue.add('zk/a');
  t.is(queue.depth, 2);
  t.deepEqual(await takeAllReady(queue), ['zk/a', 'zk/b']);
});

test('a key added while processing is not handed out again until done, then runs once more', async (t) => {
  const { queue } = aQueue();
  queue.add('zk/a');
  t.is(await queue.get(), 'zk/a');
  queue.add('zk/a');
  queue.add('zk/a');
  t.is(queue.depth, 0, 'the re-added key waits for the worker holding it');
  queue.done('zk/a');
  t.is(queue.depth, 1);
  t.is(await queue.get(), 'zk/a');
  queue.done('zk/a');
  t.is(queue.depth, 0, 'both re-adds collapsed into one more run');
});

test('a waiting worker is woken by an add', async (t) => {
  const { queue } = aQueue();
  const next = queue.get();
  queue.add('zk/a');
  t.is(await next, 'zk/a');
  t.deepEqual(queue.inFlight(), ['zk/a']);
});

test('other keys are handed to other workers while one key is processing', async (t) => {
  const { queue } = aQueue();
  queue.add('zk/a');
  queue.add('zk/b');
  const [first, second] = await Promise.all([queue.get(), queue.get()]);
  t.deepEqual([first, second], ['zk/a', 'zk/b']);
  t.deepEqual(queue.inFlight(), ['zk/a', 'zk/b']);
});

test('done for a key that is not being processed is a programming error', (t) => {
  const { queue } = aQueue();
  t.throws(() => queue.done('zk/a'), { message: /not being processed/ });
});

const backoffCases = [
  { name: 'defaults: 5 ms doubling', options: {}, failures: 5, expected: [5, 10, 20, 40, 80] },
  { name: 'defaults reach the 5 minute cap', options: {}, failures: 20, expectedLast: 300_000 },
  {
    name: 'custom base and cap',
    options: { baseDelayMs: 100, maxDelayMs: 350 },
    failures: 5,
    expected: [100, 200, 350, 350, 350],
  },
  {
    name: 'exponent never overflows',
    options: { baseDelayMs: 1, maxDelayMs: 1_000 },
    failures: 2_000,
    expectedLast: 1_000,
  },
];
for (const c of backoffCases) {
  test(`back-off sequence: ${c.name}`, (t) => {
    const backoff = new ExponentialBackoff(c.options);
    const delays = Array.from({ length: c.failures }, () => backoff.nextDelay('zk/a'));
    if (c.expected !== undefined) t.deepEqual(delays, c.expected);
    if (c.expectedLast !== undefined) t.is(delays.at(-1), c.expectedLast);
    t.is(backoff.failures('zk/a'), c.failures);
  });
}

test('back-off rejects a base above the cap', (t) => {
  t.throws(() => new ExponentialBackoff({ baseDelayMs: 10, maxDelayMs: 5 }), { message: /invalid back-off/ });
});

test('addRateLimited waits the back-off; forget resets it; keys back off independently', async (t) => {
  const { clock, queue } = aQueue({ backoff: { baseDelayMs: 10, maxDelayMs: 1_000 } });
  t.is(queue.addRateLimited('zk/a'), 10);
  t.is(queue.depth, 0);
  await clock.advance(9);
  t.is(queue.depth, 0, 'not before the delay');
  await clock.advance(1);
  t.deepEqual(await takeAllReady(queue), ['zk/a']);
  queue.done('zk/a');

  t.is(queue.addRateLimited('zk/a'), 20);
  t.is(queue.addRateLimited('zk/b'), 10, 'another key starts from the base');
  t.is(queue.numRequeues('zk/a'), 2);
  queue.forget('zk/a');
  t.is(queue.numRequeues('zk/a'), 0);
  await clock.advance(20);
  t.deepEqual((await takeAllReady(queue)).sort(), ['zk/a', 'zk/b']);
  queue.done('zk/a');
  t.is(queue.addRateLimited('zk/a'), 10, 'forgotten key starts from the base again');
});

test('addAfter queues the key once its delay passes, and the earlier of two delays wins', async (t) => {
  const { clock, queue } = aQueue();
  queue.addAfter('zk/a', 1_000);
  queue.addAfter('zk/a', 5_000);
  queue.addAfter('zk/b', 2_000);
  queue.addAfter('zk/b', 500);
  t.deepEqual(clock.pendingDelays(), [500, 1_000]);
  await clock.advance(500);
  t.deepEqual(await takeAllReady(queue), ['zk/b']);
  await clock.advance(500);
  t.deepEqual(await takeAllReady(queue), ['zk/a']);
  await clock.advance(10_000);
  t.is(queue.depth, 0, 'the later delay of zk/a was dropped');
});

test('addAfter with a non-positive delay adds at once', (t) => {
  const { queue } = aQueue();
  queue.addAfter('zk/a', 0);
  t.is(queue.depth, 1);
});

test('a delayed key that is already queued stays one entry', async (t) => {
  const { clock, queue } = aQueue();
  queue.add('zk/a');
  queue.addAfter('zk/a', 100);
  await clock.advance(100);
  t.is(queue.depth, 1);
});

test('shutdown rejects new adds, wakes idle workers, drops queued keys and waits for in-flight ones', async (t) => {
  const { clock, queue } = aQueue();
  queue.add('zk/a');
  queue.add('zk/b');
  queue.addAfter('zk/c', 1_000);
  t.is(await queue.get(), 'zk/a');
  const idleWorker = (async () => {
    await queue.get(); // takes zk/b
    return queue.get(); // waits: nothing else is ready
  })();
  await flushMicrotasks();

  let settled = false;
  const shutdown = queue.shutdown({ drainTimeoutMs: 5_000 }).then((result) => {
    settled = true;
    return result;
  });
  t.is(await idleWorker, undefined, 'an idle worker is told to stop');
  t.false(queue.add('zk/d'));
  t.false(queue.addAfter('zk/d', 10));
  t.is(queue.addRateLimited('zk/d'), 0);
  t.is(await queue.get(), undefined);
  t.deepEqual(clock.pendingDelays(), [5_000], 'only the drain deadline is pending; zk/c was dropped');

  queue.done('zk/a');
  await flushMicrotasks();
  t.false(settled, 'zk/b is still in flight');
  queue.add('zk/b');
  queue.done('zk/b');
  t.deepEqual(await shutdown, { drained: true, abandoned: [] });
  t.is(queue.depth, 0, 'a key re-added during shutdown is not queued');
});

test('shutdown resolves at the deadline with the keys still in flight', async (t) => {
  const { clock, queue } = aQueue();
  queue.add('zk/slow');
  await queue.get();
  const shutdown = queue.shutdown({ drainTimeoutMs: 1_000 });
  await clock.advance(1_000);
  t.deepEqual(await shutdown, { drained: false, abandoned: ['zk/slow'] });
});

test('a second shutdown waits for the first drain instead of replacing it', async (t) => {
  const { clock, queue } = aQueue();
  queue.add('zk/slow');
  await queue.get();
  const first = queue.shutdown({ drainTimeoutMs: 0 });
  const second = queue.shutdown({ drainTimeoutMs: 30_000 });
  await clock.advance(0);
  t.deepEqual(await first, { drained: false, abandoned: ['zk/slow'] });
  t.is(await second, await first);
});

test('shutdown with nothing in flight resolves at once', async (t) => {
  const { queue } = aQueue();
  queue.add('zk/a');
  t.deepEqual(await queue.shutdown(), { drained: true, abandoned: [] });
});

test('hooks report depth, queue latency and retries', async (t) => {
  const depths: number[] = [];
  const latencies: number[] = [];
  let retries = 0;
  const { clock, queue } = aQueue({
    hooks: {
      onDepthChange: (depth) => depths.push(depth),
      onQueueLatency: (ms) => latencies.push(ms),
      onRetry: () => retries++,
    },
  });
  queue.add('zk/a');
  queue.add('zk/b');
  await clock.advance(250);
  await queue.get();
  queue.addRateLimited('zk/c');
  t.deepEqual(depths, [1, 2, 1]);
  t.deepEqual(latencies, [250]);
  t.is(retries, 1);
});

type Command =
  | { kind: 'add'; key: string }
  | { kind: 'addAfter'; key: string; delayMs: number }
  | { kind: 'addRateLimited'; key: string }
  | { kind: 'get' }
  | { kind: 'done'; pick: number }
  | { kind: 'advance'; ms: number };

const keyArb = fc.constantFrom('zk/a', 'zk/b', 'zk/c', 'other/d');
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), key: keyArb }),
  fc.record({ kind: fc.constant('addAfter' as const), key: keyArb, delayMs: fc.integer({ min: 0, max: 100 }) }),
  fc.record({ kind: fc.constant('addRateLimited' as const), key: keyArb }),
  fc.record({ kind: fc.constant('get' as const) }),
  fc.record({ kind: fc.constant('done' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 200 }) }),
);

test('property: no key is ever processed concurrently and no add is lost', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(commandArb, { maxLength: 60 }), async (commands) => {
      const { clock, queue } = aQueue({ backoff: { baseDelayMs: 1, maxDelayMs: 50 } });
      const inFlight = new Set<string>();
      // A key "owes" a run when it was added after its last hand-out to a worker.
      const owed = new Set<string>();
      const handOut = (key: string | undefined) => {
        if (key === undefined) throw new Error('get resolved undefined before shutdown');
        if (inFlight.has(key)) throw new Error(`${key} handed to two workers at once`);
        inFlight.add(key);
        owed.delete(key);
      };
      const finish = (key: string) => {
        inFlight.delete(key);
        queue.done(key);
      };

      for (const command of commands) {
        switch (command.kind) {
          case 'add':
            queue.add(command.key);
            owed.add(command.key);
            break;
          case 'addAfter':
            queue.addAfter(command.key, command.delayMs);
            owed.add(command.key);
            break;
          case 'addRateLimited':
            queue.addRateLimited(command.key);
            owed.add(command.key);
            break;
          case 'get':
            if (queue.depth > 0) handOut(await queue.get());
            break;
          case 'done': {
            const keys = [...inFlight].sort();
            const key = keys[command.pick % Math.max(keys.length, 1)];
            if (key !== undefined) finish(key);
            break;
          }
          case 'advance':
            await clock.advance(command.ms);
            break;
          default:
            command satisfies never;
        }
      }

      // Drain: finish everything, let every delay pass, and run what becomes ready.
      for (let round = 0; round < 20 && (owed.size > 0 || inFlight.size > 0); round++) {
        for (const key of [...inFlight]) finish(key);
        await clock.advance(1_000);
        while (queue.depth > 0) handOut(await queue.get());
      }
      if (owed.size > 0) throw new Error(`adds lost for ${[...owed].join(', ')}`);
    }),
    { numRuns: 300 },
  );
  t.pass();
});
