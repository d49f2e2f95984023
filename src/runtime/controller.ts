/**
 * The reconcile loop: N workers take keys from a `WorkQueue` and call the
 * reconciler, like controller-runtime's controller.
 *
 * Contract:
 * - A reconciler gets only a key (`namespace/name`) and a context; it reads the
 *   current state itself (level-triggered), so a coalesced or replayed key is harmless.
 * - The queue guarantees one key is never reconciled by two workers at once.
 * - Success forgets the key's back-off; `{ requeueAfterMs }` queues it again after
 *   that delay (polling for something the watches cannot see, e.g. ZooKeeper state).
 * - A thrown error re-queues the key with per-key exponential back-off and is
 *   logged with the key and a reconcile id. Conflicts (409: a stale read) are
 *   logged at info and transient API failures at warn, because both are expected
 *   and retried; anything else is logged at error.
 * - `ctx.signal` aborts when the controller must stop acting: the external
 *   `signal` fired (e.g. leadership was lost) or a stop's drain deadline passed.
 *   External abort stops the workers at once without waiting for in-flight keys;
 *   no reconcile starts after it, and one that fails after it is logged as
 *   abandoned, not retried.
 * - `assertActing()` throws unless the controller may act at this very instant:
 *   not aborted, not stopped, and `assertMayAct` (leadership's own check against
 *   the clock) passes. Every write calls it right before it is sent, so a
 *   reconcile that ignores `ctx.signal` still cannot write after leadership ends.
 */
import { randomUUID } from 'node:crypto';
import { type Clock, systemClock } from './clock.js';
import { classifyKubeError } from './kube-errors.js';
import { errorFields, type Logger } from './logging.js';
import type { OperatorMetrics } from './metrics.js';
import type { ShutdownResult, WorkQueue } from './work-queue.js';

export interface ReconcileOutcome {
  /** Reconcile this key again after this many milliseconds, even if nothing changes. */
  readonly requeueAfterMs?: number;
}

export interface ReconcileContext {
  readonly key: string;
  /** Unique per reconcile call; also on every line of `logger`. */
  readonly reconcileId: string;
  /** Carries `key` and `reconcileId` on every line. */
  readonly logger: Logger;
  /** Aborted when the reconciler must stop acting (leadership lost, shutdown deadline). */
  readonly signal: AbortSignal;
}

// biome-ignore lint/suspicious/noConfusingVoidType: `void` lets a plain `async function (): Promise<void>` be a reconciler.
export type Reconciler = (key: string, ctx: ReconcileContext) => Promise<ReconcileOutcome | undefined | void>;

export interface ControllerOptions {
  /** Names the controller in logs and metrics, e.g. `zookeepercluster`. */
  readonly name: string;
  readonly queue: WorkQueue;
  readonly reconcile: Reconciler;
  /** Concurrent reconciles across different keys. */
  readonly workers: number;
  readonly logger: Logger;
  readonly metrics?: OperatorMetrics;
  /** Aborting it stops the controller at once, e.g. when leadership is lost. */
  readonly signal?: AbortSignal;
  /** Throws when acting is no longer allowed at this instant, e.g. `Leadership.assertLeading`. */
  readonly assertMayAct?: () => void;
  readonly clock?: Clock;
  readonly newReconcileId?: () => string;
}

export interface RunningController {
  /** Resolves when every worker has exited. */
  readonly finished: Promise<void>;
  /**
   * Stops taking keys, lets in-flight reconciles finish for up to `drainTimeoutMs`
   * (default 30 s, controller-runtime's graceful shutdown), then aborts their signal.
   */
  stop(options?: { drainTimeoutMs?: number }): Promise<ShutdownResult>;
  /** Throws (the reason acting ended) unless the controller may act now; see the module comment. */
  assertActing(): void;
}

export function runController(options: ControllerOptions): RunningController {
  if (!Number.isInteger(options.workers) || options.workers < 1) {
    throw new Error(`controller ${options.name}: workers must be a positive integer, got ${options.workers}`);
  }
  const clock = options.clock ?? systemClock();
  const newReconcileId = options.newReconcileId ?? randomUUID;
  const logger = options.logger.child({ controller: options.name });
  const stopActing = new AbortController();
  const { queue } = options;

  const stop = async (stopOptions: { drainTimeoutMs?: number } = {}): Promise<ShutdownResult> => {
    const result = await queue.shutdown(stopOptions);
    if (!result.drained) {
      logger.warn('shutdown deadline passed with reconciles still running', { keys: result.abandoned });
    }
    stopActing.abort(new Error(`controller ${options.name} stopped`));
    return result;
  };

  const onExternalAbort = () => {
    stopActing.abort(options.signal?.reason);
    void stop({ drainTimeoutMs: 0 });
  };
  if (options.signal?.aborted) onExternalAbort();
  else options.signal?.addEventListener('abort', onExternalAbort, { once: true });

  const assertActing = (): void => {
    stopActing.signal.throwIfAborted();
    options.assertMayAct?.();
  };

  const reconcileOnce = async (key: string): Promise<void> => {
    // A key handed out just before an abort: the work is level-triggered, so dropping it loses nothing.
    if (stopActing.signal.aborted) return;
    const reconcileId = newReconcileId();
    const reconcileLogger = logger.child({ key, reconcileId });
    const startedAt = clock.now();
    const labels = { controller: options.name };
    try {
      const outcome = await options.reconcile(key, {
        key,
        reconcileId,
        logger: reconcileLogger,
        signal: stopActing.signal,
      });
      queue.forget(key);
      const requeueAfterMs = outcome?.requeueAfterMs;
      if (requeueAfterMs !== undefined && requeueAfterMs > 0) {
        queue.addAfter(key, requeueAfterMs);
        options.metrics?.reconcileTotal.inc({ ...labels, result: 'requeue_after' });
      } else {
        options.metrics?.reconcileTotal.inc({ ...labels, result: 'success' });
      }
    } catch (err) {
      if (stopActing.signal.aborted) {
        options.metrics?.reconcileTotal.inc({ ...labels, result: 'abandoned' });
        reconcileLogger.info('reconcile abandoned: the controller stopped acting', {
          ...errorFields(err),
          why: errorFields(stopActing.signal.reason).error,
        });
        return;
      }
      const retryInMs = queue.addRateLimited(key);
      options.metrics?.reconcileTotal.inc({ ...labels, result: 'error' });
      options.metrics?.reconcileErrors.inc(labels);
      const kind = classifyKubeError(err).kind;
      const fields = { ...errorFields(err), errorKind: kind, retryInMs };
      if (queue.isShuttingDown) reconcileLogger.warn('reconcile failed during shutdown; not retried', fields);
      else if (kind === 'conflict') reconcileLogger.info('reconcile hit a conflict; retrying', fields);
      else if (kind === 'transient') reconcileLogger.warn('reconcile failed transiently; retrying', fields);
      else reconcileLogger.error('reconcile failed; retrying with back-off', fields);
    } finally {
      options.metrics?.reconcileDuration.observe(labels, (clock.now() - startedAt) / 1000);
    }
  };

  const worker = async (): Promise<void> => {
    for (let key = await queue.get(); key !== undefined; key = await queue.get()) {
      try {
        await reconcileOnce(key);
      } finally {
        queue.done(key);
      }
    }
  };

  logger.info('starting workers', { workers: options.workers });
  const finished = Promise.all(Array.from({ length: options.workers }, worker)).then(() => {
    options.signal?.removeEventListener('abort', onExternalAbort);
    logger.info('all workers stopped');
  });
  return { finished, stop, assertActing };
}
