/**
 * A self-healing informer: client-node's `ListWatch` (list, then watch from the
 * list's resourceVersion, with a local cache), plus what an operator needs on top.
 *
 * What client-node already does, and we rely on: on 410 Gone (an HTTP status or
 * an ERROR event) it relists by itself; on a normal server-side close or its 30 s
 * inactivity timeout it re-watches from the last resourceVersion.
 *
 * What this module adds:
 * - Restart after any other error (HTTP 500, connection refused, a failed LIST),
 *   on which `ListWatch` stops for good. We build a fresh `ListWatch`, so the
 *   restart always relists (the old resourceVersion may be long compacted away),
 *   after a back-off of 1 s doubling to 30 s. The back-off resets once a watch
 *   stayed up for the longest delay, so a watch that fails right after every
 *   reconnect keeps backing off.
 * - The fresh cache replaces the old one only after its LIST succeeded; until
 *   then readers keep the old (stale, but consistent) cache. Keys of objects the
 *   relist no longer contains are enqueued too, so deletions during an outage
 *   are not missed.
 * - `synced` (a first LIST completed in every namespace) and `healthy` (no watch
 *   is down right now), for readiness.
 * - Events become keys through `keysFor` (the object's own key, or the key of
 *   its controller owner of a kind) and go to `enqueue`; every add, update and
 *   delete enqueues, the reconciler reads the current state itself.
 * - Scoping: all namespaces (one ListWatch), or a list of namespaces (one
 *   ListWatch each); label and field selectors apply to LIST and WATCH alike.
 * - The cache holds objects without `metadata.managedFields`: nothing reads them,
 *   and they are often as large as the rest of the object (each field once more,
 *   per manager), which at a thousand clusters is most of the operator's heap.
 */
import {
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
  Watch,
} from '@kubernetes/client-node';
import { type Clock, systemClock, type TimerHandle } from './clock.js';
import type { CheckResult } from './http-server.js';
import { errorFields, type Logger } from './logging.js';
import { objectKey } from './object-key.js';

/** Drops the object's managedFields, in place: it was just parsed from a response, so nothing else holds it. */
function withoutManagedFields<T extends KubernetesObject>(obj: T): T {
  if (obj.metadata?.managedFields !== undefined) delete obj.metadata.managedFields;
  return obj;
}

/** A Watch whose events carry their objects without managedFields, so the ListWatch caches them so. */
class TrimmingWatch extends Watch {
  override watch(...[path, queryParams, callback, done]: Parameters<Watch['watch']>): Promise<AbortController> {
    return super.watch(
      path,
      queryParams,
      (phase, apiObj, watchObj) => callback(phase, isObject(apiObj) ? withoutManagedFields(apiObj) : apiObj, watchObj),
      done,
    );
  }
}

function isObject(value: unknown): value is KubernetesObject {
  return typeof value === 'object' && value !== null;
}

/** The scope of one LIST; the list function must honour every field, or cache and watch disagree. */
export interface ListScope {
  /** Undefined: all namespaces. */
  readonly namespace: string | undefined;
  readonly labelSelector: string | undefined;
  readonly fieldSelector: string | undefined;
}

/** How to list and watch one resource type. */
export interface WatchedResource<T extends KubernetesObject> {
  /** Names the resource in logs and readiness checks, e.g. `statefulsets.apps`. */
  readonly name: string;
  /** The collection path, e.g. `/apis/apps/v1/namespaces/zk/statefulsets`, or for all namespaces. */
  path(namespace: string | undefined): string;
  /**
   * Items shaped as watch events carry them (`apiVersion` and `kind` included, which a LIST's
   * items lack): the cache holds both, and readers compare them with what they apply.
   */
  list(scope: ListScope): Promise<KubernetesListObject<T>>;
}

/** Maps an object to the keys to reconcile; return `[]` to ignore it. */
export type KeyMapper<T extends KubernetesObject> = (obj: T) => string[];

/** The object's own `namespace/name`. */
export function ownKey(obj: KubernetesObject): string[] {
  const name = obj.metadata?.name;
  return name === undefined ? [] : [objectKey(obj.metadata?.namespace, name)];
}

/**
 * The key of the object's controller owner reference when that owner is of
 * `kind` (and, if given, of API group `apiGroup`). Owners live in the object's
 * namespace, because namespaced owners cannot own objects elsewhere.
 */
export function ownerKeys(kind: string, apiGroup?: string): KeyMapper<KubernetesObject> {
  return (obj) => {
    const owner = obj.metadata?.ownerReferences?.find(
      (ref) =>
        ref.controller === true &&
        ref.kind === kind &&
        (apiGroup === undefined || groupOf(ref.apiVersion) === apiGroup),
    );
    return owner === undefined ? [] : [objectKey(obj.metadata?.namespace, owner.name)];
  };
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash === -1 ? '' : apiVersion.slice(0, slash);
}

export interface RestartBackoff {
  /** Default 1 s. */
  readonly initialDelayMs?: number;
  /** Default 30 s. */
  readonly maxDelayMs?: number;
}

export interface InformerOptions<T extends KubernetesObject> {
  readonly kubeConfig: KubeConfig;
  readonly resource: WatchedResource<T>;
  /** Namespaces to watch, one ListWatch each; empty or absent means all namespaces. */
  readonly namespaces?: readonly string[];
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly keysFor: KeyMapper<T>;
  /** Receives every key an event maps to, e.g. `(key) => queue.add(key)`. */
  readonly enqueue: (key: string) => void;
  readonly logger: Logger;
  readonly restartBackoff?: RestartBackoff;
  readonly clock?: Clock;
}

export class Informer<T extends KubernetesObject> {
  private readonly watches: ReadonlyMap<string | undefined, NamespaceWatch<T>>;
  private syncWaiters: Array<() => void> = [];

  constructor(private readonly options: InformerOptions<T>) {
    const namespaces = options.namespaces ?? [];
    const scopes: Array<string | undefined> = namespaces.length === 0 ? [undefined] : [...new Set(namespaces)].sort();
    this.watches = new Map(
      scopes.map((namespace) => [namespace, new NamespaceWatch(options, namespace, () => this.notifySynced())]),
    );
  }

  get name(): string {
    return this.options.resource.name;
  }

  /** Starts every ListWatch; returns at once. Use `waitForSync` to wait for the first LISTs. */
  start(): void {
    for (const watch of this.watches.values()) watch.start();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.watches.values()].map((watch) => watch.stop()));
  }

  /** A first LIST completed in every watched namespace. */
  get synced(): boolean {
    return [...this.watches.values()].every((watch) => watch.synced);
  }

  /** No watch is down (waiting to restart) right now. */
  get healthy(): boolean {
    return [...this.watches.values()].every((watch) => watch.healthy);
  }

  /** Resolves true once synced, or false if `timeoutMs` passes first (controller-runtime's CacheSyncTimeout is 2 min). */
  waitForSync(timeoutMs: number): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    const clock = this.options.clock ?? systemClock();
    return new Promise((resolve) => {
      const onSynced = () => {
        clock.clearTimeout(timer);
        resolve(true);
      };
      const timer = clock.setTimeout(() => {
        this.syncWaiters = this.syncWaiters.filter((waiter) => waiter !== onSynced);
        resolve(false);
      }, timeoutMs);
      this.syncWaiters.push(onSynced);
    });
  }

  /** Readiness (a `HealthCheck` for the probe server): synced and healthy, naming the namespaces that are not. */
  readinessCheck(): () => CheckResult {
    return () => {
      const problems = [...this.watches.values()].flatMap((watch) => watch.problem() ?? []);
      return problems.length === 0 ? { ok: true } : { ok: false, reason: problems.join('; ') };
    };
  }

  /** The cached object, or undefined. Namespace is required when watching a list of namespaces. */
  get(name: string, namespace?: string): T | undefined {
    return this.watchFor(namespace)?.get(name, namespace);
  }

  /** Cached objects in `namespace`, or in every watched namespace. */
  list(namespace?: string): readonly T[] {
    if (namespace !== undefined) return this.watchFor(namespace)?.list(namespace) ?? [];
    return [...this.watches.values()].flatMap((watch) => watch.list(undefined));
  }

  private watchFor(namespace: string | undefined): NamespaceWatch<T> | undefined {
    return this.watches.get(undefined) ?? this.watches.get(namespace);
  }

  private notifySynced(): void {
    if (!this.synced) return;
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    for (const waiter of waiters) waiter();
  }
}

/** One ListWatch over one namespace (or all), restarted with back-off when it dies. */
class NamespaceWatch<T extends KubernetesObject> {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  /** The ListWatch whose cache readers see; replaced after each successful relist. */
  private cache: ListWatch<T> | undefined;
  /** Bumped on every (re)connect and on stop, so callbacks of superseded ListWatches are ignored. */
  private generation = 0;
  private stopped = true;
  private down = false;
  private lastError: string | undefined;
  private nextDelayMs: number;
  private connectedAt: number | undefined;
  private restartTimer: TimerHandle | undefined;

  constructor(
    private readonly options: InformerOptions<T>,
    private readonly namespace: string | undefined,
    private readonly onSynced: () => void,
  ) {
    this.clock = options.clock ?? systemClock();
    this.initialDelayMs = options.restartBackoff?.initialDelayMs ?? 1_000;
    this.maxDelayMs = options.restartBackoff?.maxDelayMs ?? 30_000;
    this.nextDelayMs = this.initialDelayMs;
    this.logger = options.logger.child({
      informer: options.resource.name,
      namespace: namespace ?? '*',
    });
  }

  get synced(): boolean {
    return this.cache !== undefined;
  }

  get healthy(): boolean {
    return !this.stopped && !this.down;
  }

  problem(): string | undefined {
    const where = `${this.options.resource.name} in ${this.namespace ?? 'all namespaces'}`;
    if (this.stopped) return `${where}: stopped`;
    if (this.down) return `${where}: watch down (${this.lastError ?? 'unknown error'}), restarting`;
    if (this.cache === undefined) return `${where}: not synced`;
    return undefined;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.generation++;
    if (this.restartTimer !== undefined) this.clock.clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    await this.cache?.stop();
  }

  get(name: string, namespace: string | undefined): T | undefined {
    return this.cache?.get(name, namespace);
  }

  list(namespace: string | undefined): readonly T[] {
    return this.cache?.list(namespace) ?? [];
  }

  /** Lists and watches with a fresh ListWatch, then swaps it in as the cache. */
  private async connect(): Promise<void> {
    const generation = ++this.generation;
    const isCurrent = () => generation === this.generation && !this.stopped;
    const { resource, labelSelector, fieldSelector } = this.options;
    const scope: ListScope = { namespace: this.namespace, labelSelector, fieldSelector };
    let listed = false;
    let failure: unknown;
    let swappedIn = false;
    // Events of the first LIST arrive before the swap; they wait so a reconciler never reads the old cache for them.
    const heldBack: T[] = [];

    const fresh = new ListWatch<T>(
      resource.path(this.namespace),
      new TrimmingWatch(this.options.kubeConfig),
      async () => {
        const list = await resource.list(scope);
        for (const item of list.items) withoutManagedFields(item);
        listed = true;
        return list;
      },
      false,
      labelSelector,
      fieldSelector,
    );
    const onObject = (obj: T) => {
      if (!isCurrent()) return;
      if (swappedIn) this.enqueueKeysOf(obj);
      else heldBack.push(obj);
    };
    fresh.on('add', onObject);
    fresh.on('update', onObject);
    fresh.on('delete', onObject);
    fresh.on('error', (err: unknown) => {
      if (!isCurrent()) return;
      if (swappedIn) this.restartAfterFailure(err);
      else failure ??= err;
    });

    try {
      await fresh.start();
    } catch (err) {
      // ListWatch reports most failures through 'error'; a few (no current cluster, auth plugins) throw.
      failure ??= err;
    }
    if (!isCurrent()) {
      await fresh.stop();
      return;
    }
    if (failure !== undefined || !listed) {
      await fresh.stop();
      this.restartAfterFailure(failure ?? new Error('the initial LIST did not complete'));
      return;
    }

    const previous = this.cache;
    this.cache = fresh;
    swappedIn = true;
    this.down = false;
    this.connectedAt = this.clock.now();
    if (previous !== undefined) {
      await previous.stop();
      // Objects deleted while we were not watching: the fresh ListWatch never saw them, so no delete event.
      for (const obj of previous.list()) {
        const name = obj.metadata?.name;
        if (name !== undefined && fresh.get(name, obj.metadata?.namespace) === undefined) this.enqueueKeysOf(obj);
      }
      this.logger.info('informer restarted', { objects: fresh.list().length });
    } else {
      this.logger.debug('informer synced', { objects: fresh.list().length });
    }
    for (const obj of heldBack) this.enqueueKeysOf(obj);
    this.onSynced();
  }

  private restartAfterFailure(err: unknown): void {
    if (this.stopped) return;
    this.generation++;
    this.down = true;
    this.lastError = errorFields(err).error as string;
    const stayedUpMs = this.connectedAt === undefined ? 0 : this.clock.now() - this.connectedAt;
    this.connectedAt = undefined;
    if (stayedUpMs >= this.maxDelayMs) this.nextDelayMs = this.initialDelayMs;
    const delayMs = this.nextDelayMs;
    this.nextDelayMs = Math.min(this.nextDelayMs * 2, this.maxDelayMs);
    this.logger.warn('watch failed; relisting after back-off', {
      ...errorFields(err),
      statusCode: (err as { statusCode?: unknown } | undefined)?.statusCode,
      retryInMs: delayMs,
    });
    this.restartTimer = this.clock.setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.stopped) void this.connect();
    }, delayMs);
  }

  private enqueueKeysOf(obj: T): void {
    let keys: string[];
    try {
      keys = this.options.keysFor(obj);
    } catch (err) {
      // A broken mapper must not kill the watch; the object is skipped and the bug is logged loudly.
      this.logger.error('mapping an event to keys failed', {
        object: objectKey(obj.metadata?.namespace, obj.metadata?.name ?? '?'),
        ...errorFields(err),
      });
      return;
    }
    for (const key of keys) this.options.enqueue(key);
  }
}
