/**
 * Time as a dependency.
 *
 * Runtime modules that wait (work-queue delays and back-off, informer restarts,
 * leader-election renewals) take a `Clock` instead of calling `Date.now()` and
 * `setTimeout` directly, so tests drive time with `FakeClock` and never sleep.
 *
 * Contract: `now()` is wall time, milliseconds since the epoch, and may jump (an
 * NTP step, a VM restored); `monotonicMs()` is milliseconds from an arbitrary
 * origin that never jumps, on the same time base as timers: measure durations
 * and deadlines with it. A timer fires at most once, and `clearTimeout` on a
 * fired or cleared handle is a no-op.
 */

/** An opaque timer handle; only the clock that made it can clear it. */
export type TimerHandle = { readonly timerId: number };

export interface Clock {
  /** Wall time in ms since the epoch: for timestamps others read. */
  now(): number;
  /** Monotonic ms from an arbitrary origin: for durations and deadlines in this process. */
  monotonicMs(): number;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The wall clock, backed by Node's timers; `monotonicMs` is `performance.now()` (CLOCK_MONOTONIC). */
export function systemClock(): Clock {
  let nextTimerId = 1;
  const timers = new Map<number, NodeJS.Timeout>();
  return {
    now: () => Date.now(),
    monotonicMs: () => performance.now(),
    setTimeout(callback, delayMs) {
      const timerId = nextTimerId++;
      timers.set(
        timerId,
        setTimeout(() => {
          timers.delete(timerId);
          callback();
        }, delayMs),
      );
      return { timerId };
    },
    clearTimeout(handle) {
      const timer = timers.get(handle.timerId);
      if (timer !== undefined) {
        clearTimeout(timer);
        timers.delete(handle.timerId);
      }
    },
  };
}

/** Resolves after `delayMs` on the given clock; rejects early with the signal's reason if aborted. */
export function sleep(clock: Clock, delayMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clock.clearTimeout(handle);
      reject(signal?.reason);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, delayMs);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface PendingTimer {
  readonly timerId: number;
  readonly dueAt: number;
  readonly callback: () => void;
}

/**
 * A manually advanced clock for tests. Timers fire in due order (ties in the
 * order they were set) only when `advance` moves time past them. Monotonic time
 * starts at `startMs` too; `stepWallClock` moves only the wall clock, and `pause`
 * moves time without firing timers.
 */
export class FakeClock implements Clock {
  private currentMs: number;
  private wallOffsetMs = 0;
  private nextTimerId = 1;
  private pending: PendingTimer[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.currentMs = startMs;
  }

  now(): number {
    return this.currentMs + this.wallOffsetMs;
  }

  monotonicMs(): number {
    return this.currentMs;
  }

  /** Steps the wall clock by `deltaMs` (either way), as NTP does; monotonic time and timers are untouched. */
  stepWallClock(deltaMs: number): void {
    this.wallOffsetMs += deltaMs;
  }

  /**
   * Moves time forward by `ms` without firing any timer, as a process stopped by
   * SIGSTOP (or a long GC pause) finds it when it runs again: timers that fell
   * due fire only at the next `advance`.
   */
  pause(ms: number): void {
    this.currentMs += ms;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const timerId = this.nextTimerId++;
    this.pending.push({ timerId, dueAt: this.currentMs + Math.max(0, delayMs), callback });
    return { timerId };
  }

  clearTimeout(handle: TimerHandle): void {
    this.pending = this.pending.filter((timer) => timer.timerId !== handle.timerId);
  }

  /** Delays of the timers still pending, relative to now, in due order. */
  pendingDelays(): number[] {
    return this.sortedPending().map((timer) => timer.dueAt - this.currentMs);
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way
   * (including timers set by those callbacks), and lets promise callbacks run
   * after each one so async code reacting to a timer settles before the next.
   */
  async advance(ms: number): Promise<void> {
    const target = this.currentMs + ms;
    for (;;) {
      await flushMicrotasks();
      const next = this.sortedPending()[0];
      if (next === undefined || next.dueAt > target) break;
      this.pending = this.pending.filter((timer) => timer.timerId !== next.timerId);
      this.currentMs = Math.max(this.currentMs, next.dueAt);
      next.callback();
    }
    this.currentMs = target;
    await flushMicrotasks();
  }

  private sortedPending(): PendingTimer[] {
    return [...this.pending].sort((a, b) => a.dueAt - b.dueAt || a.timerId - b.timerId);
  }
}

/** Lets queued promise callbacks (and I/O callbacks already due) run. */
export function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
