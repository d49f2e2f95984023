/**
 * The operator's Prometheus metrics, in a registry of its own (never prom-client's
 * global default, so tests and several operators in one process do not collide).
 *
 * Names follow controller-runtime and client-go, so dashboards written for Go
 * operators work unchanged:
 * - `controller_runtime_reconcile_total{controller,result}` with result one of
 *   `success | error | requeue_after`
 * - `controller_runtime_reconcile_errors_total{controller}`
 * - `controller_runtime_reconcile_time_seconds{controller}` (histogram)
 * - `workqueue_depth{name}`, `workqueue_queue_duration_seconds{name}` (histogram),
 *   `workqueue_retries_total{name}`
 * - `rest_client_requests_total{verb,code}`: incremented by the Kubernetes API
 *   client wrapper, `code` being the HTTP status or `error` when none arrived.
 * Per-cluster gauges are created later through `clusterGauge`, labelled by the
 * cluster's namespace and name, and per-member gauges through `memberGauge`,
 * labelled also by `member` (the pod name); `forgetCluster` removes both when the
 * cluster is deleted so no stale series linger.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { WorkQueueHooks } from './work-queue.js';

export type ReconcileResult = 'success' | 'error' | 'requeue_after';

const CLUSTER_LABELS = ['namespace', 'name'] as const;
type ClusterLabel = (typeof CLUSTER_LABELS)[number];
const MEMBER_LABELS = [...CLUSTER_LABELS, 'member'] as const;
type MemberLabel = (typeof MEMBER_LABELS)[number];

/** A gauge with one series per member of a cluster; a member that is no longer reported drops out. */
export class MemberGauge {
  /** The members that have a series, per cluster (`namespace/name`). */
  private readonly members = new Map<string, Set<string>>();

  constructor(readonly gauge: Gauge<MemberLabel>) {}

  /** Sets one series per entry of `values` (member → value) and removes the cluster's other members' series. */
  setMembers(cluster: { namespace: string; name: string }, values: ReadonlyMap<string, number>): void {
    const key = `${cluster.namespace}/${cluster.name}`;
    for (const member of this.members.get(key) ?? []) {
      if (!values.has(member)) this.gauge.remove({ ...cluster, member });
    }
    for (const [member, value] of values) this.gauge.set({ ...cluster, member }, value);
    if (values.size === 0) this.members.delete(key);
    else this.members.set(key, new Set(values.keys()));
  }

  /** Removes every series of one cluster. */
  forget(namespace: string, name: string): void {
    this.setMembers({ namespace, name }, new Map());
  }
}

export interface MetricsOptions {
  /** Also export Node process metrics (CPU, memory, event loop lag). Default true. */
  readonly processMetrics?: boolean;
}

export class OperatorMetrics {
  readonly registry = new Registry();

  readonly reconcileTotal = new Counter({
    name: 'controller_runtime_reconcile_total',
    help: 'Reconciliations per controller, by result.',
    labelNames: ['controller', 'result'] as const,
    registers: [this.registry],
  });

  readonly reconcileErrors = new Counter({
    name: 'controller_runtime_reconcile_errors_total',
    help: 'Reconciliations per controller that ended in an error.',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });

  readonly reconcileDuration = new Histogram({
    name: 'controller_runtime_reconcile_time_seconds',
    help: 'Time per reconciliation.',
    labelNames: ['controller'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });

  readonly workQueueDepth = new Gauge({
    name: 'workqueue_depth',
    help: 'Keys waiting in the work queue for a worker.',
    labelNames: ['name'] as const,
    registers: [this.registry],
  });

  readonly workQueueLatency = new Histogram({
    name: 'workqueue_queue_duration_seconds',
    help: 'Time a key waits in the work queue before a worker takes it.',
    labelNames: ['name'] as const,
    buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 10, 60, 300],
    registers: [this.registry],
  });

  readonly workQueueRetries = new Counter({
    name: 'workqueue_retries_total',
    help: 'Keys re-queued after a back-off.',
    labelNames: ['name'] as const,
    registers: [this.registry],
  });

  readonly kubeApiRequests = new Counter({
    name: 'rest_client_requests_total',
    help: 'Kubernetes API requests, by verb and HTTP status code (or "error" when no response arrived).',
    labelNames: ['verb', 'code'] as const,
    registers: [this.registry],
  });

  private readonly clusterGauges = new Map<string, Gauge<ClusterLabel>>();
  private readonly memberGauges = new Map<string, MemberGauge>();

  constructor(options: MetricsOptions = {}) {
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Hooks that feed one named work queue's depth, latency and retries into these metrics. */
  workQueueHooks(queueName: string): WorkQueueHooks {
    return {
      onDepthChange: (depth) => this.workQueueDepth.set({ name: queueName }, depth),
      onQueueLatency: (latencyMs) => this.workQueueLatency.observe({ name: queueName }, latencyMs / 1000),
      onRetry: () => this.workQueueRetries.inc({ name: queueName }),
    };
  }

  /** Counts one Kubernetes API request; `status` undefined means no HTTP response (network error). */
  recordKubeRequest(verb: string, status: number | undefined): void {
    this.kubeApiRequests.inc({ verb, code: status === undefined ? 'error' : String(status) });
  }

  /**
   * Returns the per-cluster gauge `name`, creating it on first use. Asking again
   * with the same name returns the same gauge.
   */
  clusterGauge(name: string, help: string): Gauge<ClusterLabel> {
    const existing = this.clusterGauges.get(name);
    if (existing !== undefined) return existing;
    const gauge = new Gauge({ name, help, labelNames: CLUSTER_LABELS, registers: [this.registry] });
    this.clusterGauges.set(name, gauge);
    return gauge;
  }

  /** Returns the per-member gauge `name`, creating it on first use. */
  memberGauge(name: string, help: string): MemberGauge {
    const existing = this.memberGauges.get(name);
    if (existing !== undefined) return existing;
    const gauge = new MemberGauge(new Gauge({ name, help, labelNames: MEMBER_LABELS, registers: [this.registry] }));
    this.memberGauges.set(name, gauge);
    return gauge;
  }

  /** Drops every per-cluster and per-member series of one cluster, e.g. after it was deleted. */
  forgetCluster(namespace: string, name: string): void {
    for (const gauge of this.clusterGauges.values()) gauge.remove({ namespace, name });
    for (const gauge of this.memberGauges.values()) gauge.forget(namespace, name);
  }

  /** The Prometheus text exposition of every metric in the registry. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
