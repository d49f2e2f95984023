/**
 * A simulated world for leader-election tests, on one shared `FakeClock` (true time):
 * - `SimulatedProcess`: one candidate's clock, with its own wall-clock skew and monotonic
 *   origin, that can be frozen like a process under SIGSTOP. While frozen nothing of it
 *   runs; on thaw its pending I/O answers run first, then its timers (a resumed Node
 *   process polls I/O before it runs due timers), so the first thing it does may be a write.
 * - `FakeLeaseServer`: the apiserver's Lease endpoint in memory, with its optimistic
 *   concurrency (resourceVersion, 409 Conflict, 409 AlreadyExists), its MicroTime check
 *   (six fractional digits, else 400), and per-candidate links whose requests take time
 *   to arrive and whose answers take time to come back, or never come (a cut link).
 */
import { ApiException, type V1Lease } from '@kubernetes/client-node';
import type { Clock, FakeClock, TimerHandle } from '../../../src/runtime/clock.js';
import type { LeaseClient } from '../../../src/runtime/leader-election.js';

interface ProcessTimer {
  readonly callback: () => void;
  base: TimerHandle;
}

export class SimulatedProcess implements Clock {
  private nextTimerId = 1;
  private readonly timers = new Map<number, ProcessTimer>();
  private frozen = false;
  private deferredIo: Array<() => void> = [];
  private deferredTimers: number[] = [];
  private wallSkewMs: number;
  private readonly monotonicOriginMs: number;

  constructor(
    private readonly world: FakeClock,
    options: { wallSkewMs?: number; monotonicOriginMs?: number } = {},
  ) {
    this.wallSkewMs = options.wallSkewMs ?? 0;
    this.monotonicOriginMs = options.monotonicOriginMs ?? 0;
  }

  now(): number {
    return this.world.now() + this.wallSkewMs;
  }

  monotonicMs(): number {
    return this.world.monotonicMs() + this.monotonicOriginMs;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const timerId = this.nextTimerId++;
    this.timers.set(timerId, { callback, base: this.world.setTimeout(() => this.fire(timerId), delayMs) });
    return { timerId };
  }

  clearTimeout(handle: TimerHandle): void {
    const timer = this.timers.get(handle.timerId);
    if (timer === undefined) return;
    this.world.clearTimeout(timer.base);
    this.timers.delete(handle.timerId);
  }

  /** Runs an I/O callback (an answer arriving), or holds it until thaw. */
  deliver(callback: () => void): void {
    if (this.frozen) this.deferredIo.push(callback);
    else callback();
  }

  /** Steps this process's wall clock (an NTP step); its monotonic clock and timers are untouched. */
  stepWallClock(deltaMs: number): void {
    this.wallSkewMs += deltaMs;
  }

  get isFrozen(): boolean {
    return this.frozen;
  }

  /** Stops this process for `ms` of true time, as SIGSTOP then SIGCONT would. */
  freeze(ms: number): void {
    if (this.frozen) return;
    this.frozen = true;
    this.world.setTimeout(() => this.thaw(), ms);
  }

  private fire(timerId: number): void {
    if (!this.timers.has(timerId)) return;
    if (this.frozen) {
      this.deferredTimers.push(timerId);
      return;
    }
    const timer = this.timers.get(timerId);
    this.timers.delete(timerId);
    timer?.callback();
  }

  private thaw(): void {
    this.frozen = false;
    // Same instant, fired in this order: the answers that arrived meanwhile, then the timers.
    for (const callback of this.deferredIo.splice(0)) this.world.setTimeout(() => this.deliver(callback), 0);
    for (const timerId of this.deferredTimers.splice(0)) {
      const timer = this.timers.get(timerId);
      if (timer !== undefined) timer.base = this.world.setTimeout(() => this.fire(timerId), 0);
    }
  }
}

type Latency = number | (() => number);

/** Latencies in ms of true time; `Infinity`: the request (or its answer) is lost. */
export interface LinkOptions {
  /** True time from sending a request to the server handling it. */
  readonly requestMs?: Latency;
  /** True time from the server handling it to the answer reaching the candidate. */
  readonly responseMs?: Latency;
}

/** One candidate's connection to the server. */
export class LeaseLink {
  /** Requests sent from now on are lost, and so are answers still on their way back. */
  cut = false;

  constructor(
    readonly candidate: string,
    readonly process: SimulatedProcess,
    public latency: LinkOptions,
  ) {}
}

export interface LeaseWrite {
  readonly by: string;
  /** True (world monotonic) time at which the server applied it. */
  readonly atMs: number;
  readonly holder: string;
  readonly resourceVersion: string;
}

const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

function status(code: number, reason: string, message: string): ApiException<string> {
  return new ApiException(
    code,
    reason,
    JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message }),
    {},
  );
}

export class FakeLeaseServer {
  readonly writes: LeaseWrite[] = [];
  private stored: V1Lease | undefined;
  private resourceVersion = 0;

  constructor(private readonly world: FakeClock) {}

  /** The Lease as stored, as JSON would carry it. */
  get lease(): V1Lease | undefined {
    return this.stored === undefined ? undefined : (JSON.parse(JSON.stringify(this.stored)) as V1Lease);
  }

  link(candidate: string, process: SimulatedProcess, latency: LinkOptions = {}): LeaseLink {
    return new LeaseLink(candidate, process, latency);
  }

  /** The three Lease calls of `link`'s candidate. */
  client(link: LeaseLink): LeaseClient {
    const client = {
      readNamespacedLease: () => this.call(link, () => this.read()),
      createNamespacedLease: ({ body }: { body: V1Lease }) => this.call(link, () => this.create(link, body)),
      replaceNamespacedLease: ({ body }: { body: V1Lease }) => this.call(link, () => this.replace(link, body)),
    };
    return client as unknown as LeaseClient;
  }

  private call(link: LeaseLink, handle: () => V1Lease): Promise<V1Lease> {
    return new Promise((resolve, reject) => {
      const after = (latency: Latency | undefined, then: () => void) => {
        const ms = typeof latency === 'function' ? latency() : (latency ?? 0);
        if (ms === Number.POSITIVE_INFINITY) return;
        if (ms <= 0) then();
        else this.world.setTimeout(then, ms);
      };
      if (link.cut) return;
      after(link.latency.requestMs, () => {
        if (link.cut) return;
        let answer: () => void;
        try {
          const lease = handle();
          answer = () => resolve(lease);
        } catch (error) {
          answer = () => reject(error);
        }
        after(link.latency.responseMs, () => {
          if (!link.cut) link.process.deliver(answer);
        });
      });
    });
  }

  private read(): V1Lease {
    const lease = this.lease;
    if (lease === undefined) throw status(404, 'NotFound', 'leases "zookeeper-operator" not found');
    return lease;
  }

  private create(link: LeaseLink, body: V1Lease): V1Lease {
    const serialized = this.validated(body);
    if (this.stored !== undefined) throw status(409, 'AlreadyExists', 'leases "zookeeper-operator" already exists');
    return this.store(link, serialized);
  }

  private replace(link: LeaseLink, body: V1Lease): V1Lease {
    const serialized = this.validated(body);
    if (this.stored === undefined) throw status(404, 'NotFound', 'leases "zookeeper-operator" not found');
    if (serialized.metadata?.resourceVersion !== this.stored.metadata?.resourceVersion) {
      throw status(409, 'Conflict', 'the object has been modified; please apply your changes to the latest version');
    }
    return this.store(link, serialized);
  }

  /** The body as JSON carries it; times must be MicroTime, as the apiserver requires. */
  private validated(body: V1Lease): V1Lease {
    const serialized = JSON.parse(JSON.stringify(body)) as V1Lease;
    for (const field of ['renewTime', 'acquireTime'] as const) {
      const value = serialized.spec?.[field] as unknown;
      if (value !== undefined && !(typeof value === 'string' && MICRO_TIME.test(value))) {
        throw status(400, 'BadRequest', `spec.${field}: cannot parse "${String(value)}" as MicroTime`);
      }
    }
    return serialized;
  }

  private store(link: LeaseLink, lease: V1Lease): V1Lease {
    this.resourceVersion += 1;
    const resourceVersion = String(this.resourceVersion);
    this.stored = { ...lease, metadata: { ...lease.metadata, resourceVersion } };
    this.writes.push({
      by: link.candidate,
      atMs: this.world.monotonicMs(),
      holder: lease.spec?.holderIdentity ?? '',
      resourceVersion,
    });
    return this.lease as V1Lease;
  }
}
