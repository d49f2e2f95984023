/**
 * A keyed work queue with the semantics of client-go's rate-limited queue.
 *
 * Contract:
 * - One entry per key: adding a key that is already waiting is a no-op, so a
 *   burst of events for one object becomes one reconcile.
 * - A key is never handed to two workers at once: a key added while it is being
 *   processed is held back and queued again when the worker calls `done(key)`.
 * - `addAfter(key, ms)` queues the key later (requeue-after, polling); of two
 *   pending delays for one key the earlier wins.
 * - `addRateLimited(key)` queues the key after a per-key exponential back-off
 *   (base doubling to a cap); `forget(key)` resets that key's back-off.
 * - `shutdown()` stops accepting keys, drops keys not yet started (the work is
 *   level-triggered, so the next process relists and finds them again), waits for
 *   in-flight keys up to a deadline, and resolves either way.
 * - Keys are handed out in FIFO order of when they became ready.
 */
import { type Clock, systemClock, type TimerHandle } from './clock.js';

export interface BackoffOptions {
  /** Delay after the first failure. Default 5 ms (client-go's item back-off). */
  readonly baseDelayMs?: number;
  /** Upper bound of the delay. Default 5 minutes. */
  readonly maxDelayMs?: number;
}

/** Per-key exponential back-off: base, 2·base, 4·base, … capped at max. */
export class ExponentialBackoff {
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly failuresByKey = new Map<string, number>();

  constructor(options: BackoffOptions = {}) {
    this.baseDelayMs = options.baseDelayMs ?? 5;
    this.maxDelayMs = options.maxDelayMs ?? 5 * 60_000;
    if (this.baseDelayMs <= 0 || this.maxDelayMs < this.baseDelayMs) {
      throw new Error(
        `invalid back-off: baseDelayMs=${this.baseDelayMs} must be > 0 and <= maxDelayMs=${this.maxDelayMs}`,
      );
    }
  }

  /** Records one more failure of `key` and returns how long to wait before retrying it. */
  nextDelay(key: string): number {
    const failures = this.failuresByKey.get(key) ?? 0;
    this.failuresByKey.set(key, failures + 1);
    // Cap the exponent too, so 2 ** failures never overflows to Infinity.
    const exponent = Math.min(failures, 52);
    return Math.min(this.baseDelayMs * 2 ** exponent, this.maxDelayMs);
  }

  failures(key: string): number {
    return this.failuresByKey.get(key) ?? 0;
  }

  forget(key: string): void {
    this.failuresByKey.delete(key);
  }
}

/** Callbacks for metrics; the queue calls them synchronously, so keep them cheap. */
export interface WorkQueueHooks {
  /** Number of keys ready and waiting for a worker, after every change. */
  readonly onDepthChange?: (depth: number) => void;
  /** How long a key waited between becoming ready and being handed to a worker. */
  readonly onQueueLatency?: (latencyMs: number) => void;
  /** A key was re-queued through `addRateLimited`. */
  readonly onRetry?: () => void;
}

export interface WorkQueueOptions {
  readonly clock?: Clock;
  readonly backoff?: BackoffOptions;
  readonly hooks?: WorkQueueHooks;
}

export interface ShutdownResult {
  /** True when every in-flight key finished before the deadline. */
  readonly drained: boolean;
  /** Keys still being processed when the deadline passed (sorted). */
  readonly abandoned: readonly string[];
}

interface DelayedKey {
  readonly readyAt: number;
  readonly timer: TimerHandle;
}

export class WorkQueue {
  private readonly clock: Clock;
  private readonly backoff: ExponentialBackoff;
  private readonly hooks: WorkQueueHooks;

  /** Keys ready for a worker, in order. Every key here is also in `dirty`. */
  private ready: string[] = [];
  /** Keys that need processing: queued in `ready`, or held back while processing. */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  /** When each dirty key became ready, for the latency hook. */
  private readonly readySince = new Map<string, number>();
  private readonly delayed = new Map<string, DelayedKey>();
  private waitingWorkers: Array<(key: string | undefined) => void> = [];
  private shuttingDown = false;
  private onIdle: (() => void) | undefined;
  private drained: Promise<ShutdownResult> | undefined;

  constructor(options: WorkQueueOptions = {}) {
    this.clock = options.clock ?? systemClock();
    this.backoff = new ExponentialBackoff(options.backoff);
    this.hooks = options.hooks ?? {};
  }

  /** Keys ready and waiting for a worker. */
  get depth(): number {
    return this.ready.length;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Keys currently held by a worker, sorted. */
  inFlight(): string[] {
    return [...this.processing].sort();
  }

  /** Queues `key` now. Returns false (and drops it) once shutdown has begun. */
  add(key: string): boolean {
    if (this.shuttingDown) return false;
    if (this.dirty.has(key)) return true;
    this.dirty.add(key);
    this.readySince.set(key, this.clock.now());
    // A key being processed waits in `dirty`; `done` queues it so two workers never share it.
    if (this.processing.has(key)) return true;
    this.ready.push(key);
    this.dispatch();
    this.reportDepth();
    return true;
  }

  /** Queues `key` after `delayMs`; an earlier pending delay for the same key wins. */
  addAfter(key: string, delayMs: number): boolean {
    if (this.shuttingDown) return false;
    if (delayMs <= 0) return this.add(key);
    const readyAt = this.clock.now() + delayMs;
    const existing = this.delayed.get(key);
    if (existing !== undefined) {
      if (existing.readyAt <= readyAt) return true;
      this.clock.clearTimeout(existing.timer);
    }
    const timer = this.clock.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.delayed.set(key, { readyAt, timer });
    return true;
  }

  /** Queues `key` after its next back-off delay and returns that delay in ms (0 if not accepted). */
  addRateLimited(key: string): number {
    if (this.shuttingDown) return 0;
    const delayMs = this.backoff.nextDelay(key);
    this.hooks.onRetry?.();
    this.addAfter(key, delayMs);
    return delayMs;
  }

  /** Resets the back-off of `key`, e.g. after it was processed successfully. */
  forget(key: string): void {
    this.backoff.forget(key);
  }

  /** Failures recorded for `key` since it was last forgotten. */
  numRequeues(key: string): number {
    return this.backoff.failures(key);
  }

  /**
   * Waits for the next ready key and marks it as processing; the caller must
   * call `done(key)` when finished. Resolves `undefined` once the queue shuts down.
   */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.takeReady();
    if (key !== undefined) return Promise.resolve(key);
    return new Promise((resolve) => this.waitingWorkers.push(resolve));
  }

  /** Releases `key` after processing; queues it again if it was added meanwhile. */
  done(key: string): void {
    if (!this.processing.delete(key)) {
      throw new Error(`work queue: done(${JSON.stringify(key)}) called for a key that is not being processed`);
    }
    if (this.shuttingDown) {
      this.dirty.delete(key);
      this.readySince.delete(key);
      if (this.processing.size === 0) this.onIdle?.();
      return;
    }
    if (this.dirty.has(key)) {
      this.ready.push(key);
      this.dispatch();
      this.reportDepth();
    }
  }

  /**
   * Stops accepting keys, wakes idle workers with `undefined`, drops keys not yet
   * started and pending delays, and waits up to `drainTimeoutMs` (default 30 s) for
   * in-flight keys. Calling it again returns the first call's result.
   */
  shutdown(options: { drainTimeoutMs?: number } = {}): Promise<ShutdownResult> {
    // Several parties may stop one queue (lost leadership, then SIGTERM); all wait for the first drain.
    this.drained ??= this.drain(options.drainTimeoutMs ?? 30_000);
    return this.drained;
  }

  private drain(drainTimeoutMs: number): Promise<ShutdownResult> {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) this.clock.clearTimeout(timer);
    this.delayed.clear();
    for (const key of this.ready) {
      this.dirty.delete(key);
      this.readySince.delete(key);
    }
    this.ready = [];
    this.reportDepth();
    const idleWorkers = this.waitingWorkers;
    this.waitingWorkers = [];
    for (const wake of idleWorkers) wake(undefined);

    if (this.processing.size === 0) return Promise.resolve({ drained: true, abandoned: [] });
    return new Promise((resolve) => {
      const deadline = this.clock.setTimeout(() => {
        this.onIdle = undefined;
        resolve({ drained: false, abandoned: this.inFlight() });
      }, drainTimeoutMs);
      this.onIdle = () => {
        this.onIdle = undefined;
        this.clock.clearTimeout(deadline);
        resolve({ drained: true, abandoned: [] });
      };
    });
  }

  /** Hands ready keys to workers already waiting in `get`. */
  private dispatch(): void {
    while (this.waitingWorkers.length > 0 && this.ready.length > 0) {
      const key = this.takeReady();
      const worker = this.waitingWorkers.shift();
      if (key === undefined || worker === undefined) return;
      worker(key);
    }
  }

  private takeReady(): string | undefined {
    const key = this.ready.shift();
    if (key === undefined) return undefined;
    this.dirty.delete(key);
    this.processing.add(key);
    const since = this.readySince.get(key);
    this.readySince.delete(key);
    if (since !== undefined) this.hooks.onQueueLatency?.(this.clock.now() - since);
    this.reportDepth();
    return key;
  }

  private reportDepth(): void {
    this.hooks.onDepthChange?.(this.ready.length);
  }
}
