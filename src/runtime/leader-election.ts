/**
 * Lease-based leader election, after client-go's `leaderelection` as used by
 * controller-runtime (lease 15 s, renew deadline 10 s, retry period 2 s).
 *
 * Contract:
 * - `run()` campaigns until this process holds the Lease, calls
 *   `onStartedLeading(signal)`, then renews every retry period. It resolves when
 *   leadership ends (lost, or released by `stop()`).
 * - The Lease is acquired when it has no holder or its holder's renewTime plus
 *   leaseDurationSeconds has passed. Every write is a `replace` carrying the
 *   resourceVersion that was read, so of two candidates only one wins; a 409
 *   means we lost that race. Taking the Lease bumps `leaseTransitions` and sets
 *   `acquireTime`.
 * - Leadership is lost, and the `signal` aborted at once, when a renewal answers
 *   409 or shows another holder, or when no renewal succeeded within the renew
 *   deadline. A timer enforces the deadline, so even a hung request cannot keep
 *   us acting as leader past it; the deadline being shorter than the lease
 *   duration is what keeps two leaders from overlapping.
 * - `stop()` ends campaigning and, if leading, releases the Lease (empty holder,
 *   1 s duration, like client-go's ReleaseOnCancel) so a standby takes over at
 *   once instead of waiting for expiry. Call it after the controllers stopped acting.
 * - Expiry compares the holder's renewTime with our clock, so it assumes clocks
 *   agree to well within lease duration minus renew deadline (5 s by default);
 *   NTP-synced nodes do.
 * - Times are written as `V1MicroTime` (six fractional digits, as the apiserver
 *   requires) and parsed from strings when read back.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { type CoordinationV1Api, type V1Lease, type V1LeaseSpec, V1MicroTime } from '@kubernetes/client-node';
import { type Clock, sleep, systemClock, type TimerHandle } from './clock.js';
import { classifyKubeError } from './kube-errors.js';
import { errorFields, type Logger } from './logging.js';

/** The three Lease calls we make; `CoordinationV1Api` satisfies it. */
export type LeaseClient = Pick<
  CoordinationV1Api,
  'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'
>;

export type StoppedLeadingReason = 'lost' | 'released';

export interface LeaderElectionOptions {
  readonly leases: LeaseClient;
  readonly namespace: string;
  readonly name: string;
  /** Unique per process; default `defaultIdentity()`. */
  readonly identity?: string;
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
  /** Called once this process leads; `signal` aborts the moment leadership ends. */
  readonly onStartedLeading: (signal: AbortSignal) => void;
  readonly onStoppedLeading: (reason: StoppedLeadingReason) => void;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Source of jitter for campaign retries, in [0, 1). Tests pass `() => 0`. */
  readonly random?: () => number;
}

/** Pod name (or hostname) plus a random suffix, so a restarted pod is a new candidate. */
export function defaultIdentity(): string {
  const podName = process.env.POD_NAME;
  const base = podName !== undefined && podName !== '' ? podName : hostname();
  return `${base}_${randomBytes(4).toString('hex')}`;
}

/** client-go's JitterFactor for the campaign loop: waits between 1x and 2.2x the retry period. */
const CAMPAIGN_JITTER = 1.2;

type Attempt =
  | { readonly outcome: 'acquired' | 'renewed'; readonly lease: V1Lease }
  | { readonly outcome: 'heldByOther'; readonly holder: string }
  | { readonly outcome: 'conflict' }
  | { readonly outcome: 'failed'; readonly error: unknown };

export class LeaderElector {
  readonly identity: string;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly logger: Logger;

  private leading: AbortController | undefined;
  private renewDeadline: TimerHandle | undefined;
  /** Aborts the waits of `run` when `stop` is called. */
  private readonly stopping = new AbortController();
  private inFlight: Promise<Attempt> | undefined;
  private running: Promise<void> | undefined;
  /** The Lease as last written by us, for a release without an extra race. */
  private lastWritten: V1Lease | undefined;

  constructor(private readonly options: LeaderElectionOptions) {
    this.identity = options.identity ?? defaultIdentity();
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (!(this.retryPeriodMs < this.renewDeadlineMs && this.renewDeadlineMs < this.leaseDurationMs)) {
      throw new Error(
        `leader election needs retryPeriod < renewDeadline < leaseDuration, got ${this.retryPeriodMs} ms, ${this.renewDeadlineMs} ms, ${this.leaseDurationMs} ms`,
      );
    }
    this.clock = options.clock ?? systemClock();
    this.random = options.random ?? Math.random;
    this.logger = options.logger.child({ lease: `${options.namespace}/${options.name}`, identity: this.identity });
  }

  get isLeader(): boolean {
    return this.leading !== undefined;
  }

  run(): Promise<void> {
    this.running ??= this.campaignThenRenew();
    return this.running;
  }

  /** Stops campaigning; if leading, ends leadership and releases the Lease. Resolves when done. */
  async stop(): Promise<void> {
    if (this.stopping.signal.aborted) return this.running;
    this.stopping.abort(new Error('leader election stopped'));
    // Let a renewal in flight land first, so the release does not race our own write.
    await this.inFlight;
    this.endLeadership('released');
    // Also when a campaign write landed just as we stopped: the Lease names us, so hand it back.
    await this.release();
    await this.running;
  }

  private async campaignThenRenew(): Promise<void> {
    this.logger.info('campaigning for leadership');
    while (!this.stopping.signal.aborted) {
      const attempt = await this.attempt();
      if (attempt.outcome === 'acquired' || attempt.outcome === 'renewed') break;
      if (attempt.outcome === 'heldByOther')
        this.logger.debug('lease held by another candidate', { holder: attempt.holder });
      if (attempt.outcome === 'failed')
        this.logger.warn('could not read or write the lease', errorFields(attempt.error));
      const waitMs = this.retryPeriodMs * (1 + CAMPAIGN_JITTER * this.random());
      if (!(await this.wait(waitMs))) return;
    }
    if (this.stopping.signal.aborted) return;

    const leading = new AbortController();
    this.leading = leading;
    this.armRenewDeadline();
    this.logger.info('became leader');
    this.options.onStartedLeading(leading.signal);

    while (this.leading === leading) {
      if (!(await this.wait(this.retryPeriodMs)) || this.leading !== leading) return;
      const attempt = await this.attempt();
      if (this.leading !== leading) return; // the deadline passed while the request was in flight
      switch (attempt.outcome) {
        case 'acquired':
        case 'renewed':
          this.armRenewDeadline();
          break;
        case 'conflict':
          this.loseLeadership('the lease was written by someone else (409 Conflict)');
          return;
        case 'heldByOther':
          this.loseLeadership(`the lease is now held by ${attempt.holder}`);
          return;
        case 'failed':
          // Keep trying until the renew deadline timer gives up on us.
          this.logger.warn('renewing the lease failed; retrying until the renew deadline', errorFields(attempt.error));
          break;
        default:
          attempt satisfies never;
      }
    }
  }

  /** One read-then-write of the Lease: create it, take it over, or renew it. */
  private attempt(): Promise<Attempt> {
    const attempt = this.tryAcquireOrRenew().catch((error: unknown): Attempt => ({ outcome: 'failed', error }));
    this.inFlight = attempt;
    return attempt;
  }

  private async tryAcquireOrRenew(): Promise<Attempt> {
    const { leases, namespace, name } = this.options;
    const now = this.clock.now();
    let current: V1Lease;
    try {
      current = await leases.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (classifyKubeError(err).kind !== 'notFound') return { outcome: 'failed', error: err };
      return this.create(now);
    }

    const spec: V1LeaseSpec = current.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    if (holder !== '' && holder !== this.identity && !this.hasExpired(spec, now)) {
      return { outcome: 'heldByOther', holder };
    }
    if (holder !== this.identity && this.leading !== undefined) {
      // We think we lead, yet the record names nobody or someone else: it was taken or released under us.
      return { outcome: 'heldByOther', holder: holder === '' ? '(nobody)' : holder };
    }
    const renewing = this.leading !== undefined;
    const desired: V1Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: current.metadata ?? { name, namespace },
      spec: {
        ...spec,
        holderIdentity: this.identity,
        leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
        renewTime: new V1MicroTime(now),
        acquireTime: renewing ? (spec.acquireTime ?? new V1MicroTime(now)) : new V1MicroTime(now),
        leaseTransitions: renewing ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
      },
    };
    try {
      this.lastWritten = await leases.replaceNamespacedLease({ name, namespace, body: desired });
    } catch (err) {
      return classifyKubeError(err).kind === 'conflict' ? { outcome: 'conflict' } : { outcome: 'failed', error: err };
    }
    if (!renewing) this.logger.info('took over the lease', { previousHolder: holder === '' ? undefined : holder });
    return { outcome: renewing ? 'renewed' : 'acquired', lease: this.lastWritten };
  }

  private async create(now: number): Promise<Attempt> {
    const { leases, namespace, name } = this.options;
    const body: V1Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace },
      spec: {
        holderIdentity: this.identity,
        leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
        acquireTime: new V1MicroTime(now),
        renewTime: new V1MicroTime(now),
        leaseTransitions: 0,
      },
    };
    try {
      this.lastWritten = await leases.createNamespacedLease({ namespace, body });
      return { outcome: 'acquired', lease: this.lastWritten };
    } catch (err) {
      const kind = classifyKubeError(err).kind;
      // Another candidate created it between our read and our create.
      if (kind === 'alreadyExists' || kind === 'conflict') return { outcome: 'conflict' };
      return { outcome: 'failed', error: err };
    }
  }

  private hasExpired(spec: V1LeaseSpec, now: number): boolean {
    const renewedAt = parseLeaseTime(spec.renewTime);
    if (renewedAt === undefined) return true;
    const durationMs = (spec.leaseDurationSeconds ?? Math.ceil(this.leaseDurationMs / 1000)) * 1000;
    return renewedAt + durationMs <= now;
  }

  /** (Re)starts the timer that ends leadership if no renewal succeeds within the renew deadline. */
  private armRenewDeadline(): void {
    if (this.renewDeadline !== undefined) this.clock.clearTimeout(this.renewDeadline);
    this.renewDeadline = this.clock.setTimeout(() => {
      this.renewDeadline = undefined;
      this.loseLeadership(`no successful renewal within the renew deadline of ${this.renewDeadlineMs} ms`);
    }, this.renewDeadlineMs);
  }

  private loseLeadership(why: string): void {
    if (this.leading === undefined) return;
    this.logger.error('lost leadership; stopping', { reason: why });
    // Our last write is stale now; releasing from it would only hit a conflict.
    this.lastWritten = undefined;
    this.endLeadership('lost');
  }

  private endLeadership(reason: StoppedLeadingReason): void {
    const leading = this.leading;
    if (leading === undefined) return;
    this.leading = undefined;
    if (this.renewDeadline !== undefined) this.clock.clearTimeout(this.renewDeadline);
    this.renewDeadline = undefined;
    leading.abort(new Error(`leadership ${reason}`));
    this.options.onStoppedLeading(reason);
  }

  /** Hands the Lease back: no holder and a 1 s duration, so a standby acquires it on its next try. */
  private async release(): Promise<void> {
    const { leases, namespace, name } = this.options;
    const written = this.lastWritten;
    if (written?.spec?.holderIdentity !== this.identity) return;
    const now = new V1MicroTime(this.clock.now());
    const body: V1Lease = {
      ...written,
      spec: { ...written.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now },
    };
    try {
      await leases.replaceNamespacedLease({ name, namespace, body });
      this.logger.info('released the lease');
    } catch (err) {
      // Not fatal: the Lease then expires after its duration and a standby takes over later.
      this.logger.warn('could not release the lease; it will expire instead', errorFields(err));
    }
  }

  /** Waits on the clock; false when `stop` interrupted the wait. */
  private async wait(ms: number): Promise<boolean> {
    try {
      await sleep(this.clock, ms, this.stopping.signal);
      return true;
    } catch {
      // Only the stop signal rejects the sleep.
      return false;
    }
  }
}

/** Lease times arrive as strings (client-node does not revive MicroTime) or, when we wrote them, as Dates. */
export function parseLeaseTime(value: Date | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
