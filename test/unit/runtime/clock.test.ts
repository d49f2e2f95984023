import test from 'ava';
import { FakeClock, sleep } from '../../../src/runtime/clock.js';

test('fake timers fire in due order, ties in the order they were set, only when time passes them', async (t) => {
  const clock = new FakeClock(0);
  const fired: string[] = [];
  clock.setTimeout(() => fired.push('b@20'), 20);
  clock.setTimeout(() => fired.push('a@10'), 10);
  clock.setTimeout(() => fired.push('c@20'), 20);
  await clock.advance(15);
  t.deepEqual(fired, ['a@10']);
  t.is(clock.now(), 15);
  await clock.advance(5);
  t.deepEqual(fired, ['a@10', 'b@20', 'c@20']);
});

test('a timer set by a firing timer fires within the same advance when it falls due', async (t) => {
  const clock = new FakeClock(0);
  const firedAt: number[] = [];
  clock.setTimeout(() => {
    firedAt.push(clock.now());
    clock.setTimeout(() => firedAt.push(clock.now()), 10);
  }, 10);
  await clock.advance(25);
  t.deepEqual(firedAt, [10, 20]);
});

test('a cleared timer never fires', async (t) => {
  const clock = new FakeClock(0);
  let fired = false;
  const handle = clock.setTimeout(() => {
    fired = true;
  }, 10);
  clock.clearTimeout(handle);
  await clock.advance(100);
  t.false(fired);
  t.deepEqual(clock.pendingDelays(), []);
});

test('sleep resolves after its delay and rejects with the abort reason when aborted', async (t) => {
  const clock = new FakeClock(0);
  let woke = false;
  const nap = sleep(clock, 50).then(() => {
    woke = true;
  });
  await clock.advance(49);
  t.false(woke);
  await clock.advance(1);
  await nap;
  t.true(woke);

  const stop = new AbortController();
  const interrupted = sleep(clock, 1_000, stop.signal);
  stop.abort(new Error('stopping'));
  await t.throwsAsync(interrupted, { message: 'stopping' });
  t.deepEqual(clock.pendingDelays(), [], 'the aborted sleep cleared its timer');
  await t.throwsAsync(sleep(clock, 10, stop.signal), { message: 'stopping' });
});

test('a wall-clock step moves now() only; monotonic time and timers keep their course', async (t) => {
  const clock = new FakeClock(1_000);
  let fired = false;
  clock.setTimeout(() => {
    fired = true;
  }, 100);
  clock.stepWallClock(-3_600_000);
  t.is(clock.now(), 1_000 - 3_600_000);
  t.is(clock.monotonicMs(), 1_000);
  await clock.advance(100);
  t.true(fired);
  t.is(clock.monotonicMs(), 1_100);
});

test('pause moves time past due timers without firing them; the next advance fires them', async (t) => {
  const clock = new FakeClock(0);
  const fired: number[] = [];
  clock.setTimeout(() => fired.push(clock.monotonicMs()), 100);
  clock.pause(500);
  t.deepEqual(fired, []);
  t.deepEqual(clock.pendingDelays(), [-400]);
  await clock.advance(0);
  t.deepEqual(fired, [500], 'fired late, at the time the process runs again');
});
