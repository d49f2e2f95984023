/**
 * Lease-based leader election, after client-go's `leaderelection` as used by
 * controller-runtime (lease 15 s, renew deadline 10 s, retry period 2 s).
 *
 * Contract:
 * - `run()` campaigns until this process holds the Lease, calls
 *   `onStartedLeading(leadership)`, then renews every retry period. It resolves
 *   when leadership ends (lost, or released by `stop()`).
 * - Every write is a `replace` carrying the resourceVersion that was read, so of
 *   two candidates only one wins; a 409 means we lost that race. Taking the Lease
 *   bumps `leaseTransitions` and sets `acquireTime`.
 * - Expiry of another holder's Lease is judged only by our own monotonic clock:
 *   the Lease is free once `leaseDurationSeconds` have passed since we last saw
 *   its record change (holder, renewTime, duration or resourceVersion), like
 *   client-go's `observedTime`. The holder's `renewTime` is never compared with
 *   our clock, so clock skew between nodes cannot make us take over early. A
 *   candidate that starts watching a Lease therefore waits a full lease duration
 *   before taking it, unless it was released (no holder).
 * - Our own leadership lasts `renewDeadline` from the START of the last
 *   successful acquire or renew (the read that began it), not from its answer: a
 *   standby saw that write no earlier than it started, so it waits at least
 *   `leaseDuration` from then, and `renewDeadline < leaseDuration` keeps the
 *   terms apart even when answers arrive late. An acquisition whose answer comes
 *   after its own deadline is not led on; we campaign again.
 * - Leadership is lost, and its `signal` aborted, when a renewal answers 409 or
 *   shows another holder, or when the deadline passes. A timer enforces the
 *   deadline, and `leadership.assertLeading()` checks it against the clock too:
 *   a process paused past its deadline (SIGSTOP, a frozen VM) runs ready I/O
 *   callbacks before its timers, so only that check stops the first of them from
 *   writing. After the deadline we send no further Lease write either.
 * - `stop()` ends campaigning and, if still leading, releases the Lease (empty
 *   holder, 1 s duration, like client-go's ReleaseOnCancel) so a standby takes
 *   over at once instead of waiting for expiry. Call it after the controllers
 *   stopped acting; calling it again returns the same promise.
 * - Times in the Lease are written as `V1MicroTime` (six fractional digits, as
 *   the apiserver requires); they are for people and other tools, not for us.
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

/** One term of leadership, as the code that acts on it sees it. */
export interface Leadership {
  /** Aborted the moment the term ends; its reason is a `LeadershipEndedError`. */
  readonly signal: AbortSignal;
  /**
   * Throws the `LeadershipEndedError` unless this term still holds at this instant.
   * Call it right before every write: it checks the renew deadline on the clock,
   * so it is right even before the deadline timer had a chance to run.
   */
  assertLeading(): void;
}

/** Why a term ended; the reason of `Leadership.signal` and what `assertLeading` throws. */
export class LeadershipEndedError extends Error {
  constructor(
    readonly reason: StoppedLeadingReason,
    why: string,
  ) {
    super(`leadership ${reason}: ${why}`);
    this.name = 'LeadershipEndedError';
  }
}

export interface LeaderElectionOptions {
  readonly leases: LeaseClient;
  readonly namespace: string;
  readonly name: string;
  /** Unique per process; default `defaultIdentity()`. */
  readonly identity?: string;
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
  /** Called once this process leads. */
  readonly onStartedLeading: (leadership: Leadership) => void;
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

type Attempt = { readonly startedAtMs: number } & (
  | { readonly outcome: 'acquired' | 'renewed'; readonly lease: V1Lease }
  | { readonly outcome: 'heldByOther'; readonly holder: string }
  | { readonly outcome: 'conflict' }
  | { readonly outcome: 'failed'; readonly error: unknown }
);
type AttemptResult = DistributiveOmit<Attempt, 'startedAtMs'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The fields whose change restarts the expiry countdown (client-go compares the whole record). */
function recordVersion(lease: V1Lease): string {
  const spec = lease.spec ?? {};
  return JSON.stringify([
    lease.metadata?.resourceVersion ?? '',
    spec.holderIdentity ?? '',
    String(spec.renewTime ?? ''),
    spec.leaseDurationSeconds ?? null,
  ]);
}

interface Observation {
  readonly version: string;
  readonly leaseDurationMs: number;
  /** Monotonic time at which we first saw this version. */
  readonly sinceMs: number;
}

interface Term {
  readonly aborter: AbortController;
  readonly leadership: Leadership;
  /** Monotonic time at which the term ends unless a renewal started before then succeeds. */
  validUntilMs: number;
}

export class LeaderElector {
  readonly identity: string;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly logger: Logger;

  private term: Term | undefined;
  private renewDeadline: TimerHandle | undefined;
  private observed: Observation | undefined;
  /** Aborts the waits of `run` when `stop` is called. */
  private readonly stopping = new AbortController();
  private inFlight: Promise<Attempt> | undefined;
  private running: Promise<void> | undefined;
  private stopped: Promise<void> | undefined;
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

  /** True while a term holds at this instant (no side effects; see `Leadership.assertLeading`). */
  get isLeader(): boolean {
    return this.term !== undefined && this.clock.monotonicMs() < this.term.validUntilMs;
  }

  run(): Promise<void> {
    this.running ??= this.campaignThenRenew();
    return this.running;
  }

  /** Stops campaigning; if leading, ends leadership and releases the Lease. Resolves when done. */
  stop(): Promise<void> {
    this.stopped ??= this.stopNow();
    return this.stopped;
  }

  private async stopNow(): Promise<void> {
    this.stopping.abort(new Error('leader election stopped'));
    // End the term at once, so nothing acts on it any more. Past its deadline it is lost,
    // not released: then we have no right to write the Lease.
    if (this.holdsNow()) this.endTerm('released', 'stopped');
    // Let a request in flight land first, so the release does not race our own write (a
    // renewal's read answered from now on writes nothing: its term is over).
    await this.inFlight;
    // Also when a campaign write landed just as we stopped: the Lease names us, so hand it back.
    await this.release();
    await this.running;
  }

  private async campaignThenRenew(): Promise<void> {
    this.logger.info('campaigning for leadership');
    let won: Attempt | undefined;
    while (!this.stopping.signal.aborted) {
      const attempt = await this.attempt();
      if (attempt.outcome === 'acquired' || attempt.outcome === 'renewed') {
        if (this.clock.monotonicMs() < attempt.startedAtMs + this.renewDeadlineMs) {
          won = attempt;
          break;
        }
        this.logger.warn('the lease was taken, but the answer came after the renew deadline; not leading on it', {
          answeredAfterMs: this.clock.monotonicMs() - attempt.startedAtMs,
        });
      }
      if (attempt.outcome === 'heldByOther')
        this.logger.debug('lease held by another candidate', { holder: attempt.holder });
      if (attempt.outcome === 'failed')
        this.logger.warn('could not read or write the lease', errorFields(attempt.error));
      const waitMs = this.retryPeriodMs * (1 + CAMPAIGN_JITTER * this.random());
      if (!(await this.wait(waitMs))) return;
    }
    if (won === undefined || this.stopping.signal.aborted) return;

    const term = this.beginTerm(won.startedAtMs);
    this.logger.info('became leader');
    this.options.onStartedLeading(term.leadership);

    while (this.term === term) {
      if (!(await this.wait(this.retryPeriodMs)) || !this.holdsNow(term)) return;
      const attempt = await this.attempt();
      // The deadline may have passed while the request was in flight (its timer, or a pause).
      if (!this.holdsNow(term)) return;
      switch (attempt.outcome) {
        case 'acquired':
        case 'renewed':
          this.extendTerm(term, attempt.startedAtMs);
          break;
        case 'conflict':
          this.loseLeadership('the lease was written by someone else (409 Conflict)');
          return;
        case 'heldByOther':
          this.loseLeadership(`the lease is now held by ${attempt.holder}`);
          return;
        case 'failed':
          // Keep trying until the renew deadline gives up on us.
          this.logger.warn('renewing the lease failed; retrying until the renew deadline', errorFields(attempt.error));
          break;
        default:
          attempt satisfies never;
      }
    }
  }

  /** One read-then-write of the Lease: create it, take it over, or renew it. */
  private attempt(): Promise<Attempt> {
    const startedAtMs = this.clock.monotonicMs();
    const attempt = this.tryAcquireOrRenew(this.term)
      .catch((error: unknown): AttemptResult => ({ outcome: 'failed', error }))
      .then((result): Attempt => ({ ...result, startedAtMs }));
    this.inFlight = attempt;
    return attempt;
  }

  /** `term` is the one current when the attempt started: a renewal of it, else a campaign. */
  private async tryAcquireOrRenew(term: Term | undefined): Promise<AttemptResult> {
    const { leases, namespace, name } = this.options;
    const now = this.clock.now();
    let current: V1Lease;
    try {
      current = await leases.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (classifyKubeError(err).kind !== 'notFound') return { outcome: 'failed', error: err };
      return this.mayWrite(term) ?? this.create(now);
    }
    this.observe(current);

    const spec: V1LeaseSpec = current.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renewing = term !== undefined;
    if (holder !== '' && holder !== this.identity && !this.observedExpired()) {
      return { outcome: 'heldByOther', holder };
    }
    if (holder !== this.identity && renewing) {
      // We think we lead, yet the record names nobody or someone else: it was taken or released under us.
      return { outcome: 'heldByOther', holder: holder === '' ? '(nobody)' : holder };
    }
    const refused = this.mayWrite(term);
    if (refused !== undefined) return refused;
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
    this.observe(this.lastWritten);
    if (!renewing) this.logger.info('took over the lease', { previousHolder: holder === '' ? undefined : holder });
    return { outcome: renewing ? 'renewed' : 'acquired', lease: this.lastWritten };
  }

  /**
   * Undefined when the Lease may be written now, else why not: the read may have answered
   * after our term ended or after `stop()`, and then we no longer write.
   */
  private mayWrite(term: Term | undefined): AttemptResult | undefined {
    if (term !== undefined && !this.holdsNow(term)) {
      return { outcome: 'failed', error: new Error('the term ended while the lease was being read') };
    }
    if (term === undefined && this.stopping.signal.aborted) {
      return { outcome: 'failed', error: new Error('stopped while the lease was being read') };
    }
    return undefined;
  }

  private async create(now: number): Promise<AttemptResult> {
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
      this.observe(this.lastWritten);
      return { outcome: 'acquired', lease: this.lastWritten };
    } catch (err) {
      const kind = classifyKubeError(err).kind;
      // Another candidate created it between our read and our create.
      if (kind === 'alreadyExists' || kind === 'conflict') return { outcome: 'conflict' };
      return { outcome: 'failed', error: err };
    }
  }

  /** Restarts the expiry countdown when the record differs from the one we saw last. */
  private observe(lease: V1Lease): void {
    const version = recordVersion(lease);
    if (this.observed?.version === version) return;
    const seconds = lease.spec?.leaseDurationSeconds ?? Math.ceil(this.leaseDurationMs / 1000);
    this.observed = { version, leaseDurationMs: seconds * 1000, sinceMs: this.clock.monotonicMs() };
  }

  private observedExpired(): boolean {
    const observed = this.observed;
    return observed === undefined || this.clock.monotonicMs() >= observed.sinceMs + observed.leaseDurationMs;
  }

  private beginTerm(startedAtMs: number): Term {
    const aborter = new AbortController();
    const term: Term = {
      aborter,
      validUntilMs: startedAtMs + this.renewDeadlineMs,
      leadership: {
        signal: aborter.signal,
        assertLeading: () => {
          if (!this.holdsNow(term)) throw aborter.signal.reason;
        },
      },
    };
    this.term = term;
    this.armRenewDeadline(term);
    return term;
  }

  /** A renewal that started at `startedAtMs` succeeded: the term lasts the renew deadline from then. */
  private extendTerm(term: Term, startedAtMs: number): void {
    term.validUntilMs = Math.max(term.validUntilMs, startedAtMs + this.renewDeadlineMs);
    this.armRenewDeadline(term);
  }

  /** (Re)starts the timer that ends the term at its deadline. */
  private armRenewDeadline(term: Term): void {
    if (this.renewDeadline !== undefined) this.clock.clearTimeout(this.renewDeadline);
    this.renewDeadline = this.clock.setTimeout(() => {
      this.renewDeadline = undefined;
      // Node's timers may fire a millisecond early on the monotonic clock: then wait out the rest.
      if (this.holdsNow(term)) this.armRenewDeadline(term);
    }, term.validUntilMs - this.clock.monotonicMs());
  }

  /** Whether `term` (default: the current one) still holds now; ends it if its deadline has passed. */
  private holdsNow(term: Term | undefined = this.term): boolean {
    if (term === undefined || this.term !== term) return false;
    if (this.clock.monotonicMs() < term.validUntilMs) return true;
    this.loseLeadership(`no successful renewal started within the renew deadline of ${this.renewDeadlineMs} ms`);
    return false;
  }

  private loseLeadership(why: string): void {
    if (this.term === undefined) return;
    this.logger.error('lost leadership; stopping', { reason: why });
    // Our last write is stale now; releasing from it would only hit a conflict.
    this.lastWritten = undefined;
    this.endTerm('lost', why);
  }

  private endTerm(reason: StoppedLeadingReason, why: string): void {
    const term = this.term;
    if (term === undefined) return;
    this.term = undefined;
    if (this.renewDeadline !== undefined) this.clock.clearTimeout(this.renewDeadline);
    this.renewDeadline = undefined;
    term.aborter.abort(new LeadershipEndedError(reason, why));
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
