// The kubelet's Nodes: each registered with the usual labels, its zone and region, capacity and
// its InternalIP (the bridge address, shared by all of one kubelet's nodes), then kept Ready by
// renewing its own Lease in kube-node-lease and the Ready condition's heartbeat every 10 s, so
// the node lifecycle controller neither taints it nor evicts its pods.
//
// All nodes run on this one machine, and each reports the machine's CPUs and memory as its
// capacity: resource requests are then checked per node as in a cluster of such machines (the
// nodes together overcommit the machine N times).
//
// The apiserver's TaintNodesByCondition admission puts `node.kubernetes.io/not-ready:NoSchedule`
// on every new Node, and the node lifecycle controller removes it once the node reports Ready.
// That controller is off here (see kube-controller-manager.ts), so the kubelet removes the
// not-ready and unreachable taints itself after its first Ready heartbeat; without that the
// scheduler would place nothing. Any other taint (one a test sets) stays.

import { cpus, release, totalmem } from 'node:os';
import type { V1Node } from '@kubernetes/client-node';
import { apiStatus, describeApiError, type KubeClients, mergePatch } from './kube.js';
import type { Logger } from './log.js';
import { apiTime } from './status.js';

const HEARTBEAT_MS = 10_000;
const LEASE_DURATION_SECONDS = 40;
const LEASE_NAMESPACE = 'kube-node-lease';

/** How many nodes a kubelet registers unless told otherwise: enough for one member per node and zone. */
export const DEFAULT_NODE_COUNT = 3;
/** Every node of this machine is in one region. */
export const REGION = 'local';

/** One Node of a kubelet: its name and labels. */
export interface NodeIdentity {
  readonly name: string;
  readonly zone: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** `count` nodes `<prefix>-a`, `<prefix>-b`, ..., in zones `zone-a`, `zone-b`, ... of region `local`. */
export function nodeIdentities(prefix: string, count: number): NodeIdentity[] {
  if (!Number.isInteger(count) || count < 1 || count > 26) {
    throw new Error(`a process kubelet registers 1 to 26 nodes, not ${count}`);
  }
  return Array.from({ length: count }, (_, index) => {
    const letter = String.fromCharCode('a'.charCodeAt(0) + index);
    const name = `${prefix}-${letter}`;
    const zone = `zone-${letter}`;
    return {
      name,
      zone,
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'topology.kubernetes.io/region': REGION,
        'topology.kubernetes.io/zone': zone,
      },
    };
  });
}

/** The taints the node lifecycle controller lifts from a Ready node. */
const NOT_READY_TAINT_KEYS: ReadonlySet<string> = new Set([
  'node.kubernetes.io/not-ready',
  'node.kubernetes.io/unreachable',
]);
const TAINT_UPDATE_ATTEMPTS = 5;

/** MicroTime, the Lease's timestamp format. */
function microTime(date: Date): string {
  return date.toISOString().replace('Z', '000Z');
}

export class NodeHeartbeat {
  private timer: NodeJS.Timeout | undefined;
  private readonly readySince = apiTime(new Date());
  private readonly nodeName: string;

  constructor(
    private readonly clients: KubeClients,
    private readonly identity: NodeIdentity,
    private readonly internalIP: string,
    private readonly logger: Logger,
  ) {
    this.nodeName = identity.name;
  }

  private nodeStatus(now: string) {
    const capacity = { cpu: String(cpus().length), memory: `${Math.floor(totalmem() / 1024)}Ki`, pods: '110' };
    const condition = (type: string, status: string, reason: string, message: string) => ({
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: now,
      lastTransitionTime: this.readySince,
    });
    return {
      capacity,
      allocatable: capacity,
      conditions: [
        condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        condition('Ready', 'True', 'KubeletReady', 'process kubelet is posting ready status'),
      ],
      addresses: [
        { type: 'InternalIP', address: this.internalIP },
        { type: 'Hostname', address: this.nodeName },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
      nodeInfo: {
        machineID: '',
        systemUUID: '',
        bootID: '',
        kernelVersion: release(),
        osImage: 'process kubelet',
        containerRuntimeVersion: 'process://1',
        kubeletVersion: 'v0.0.0-process-kubelet',
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    };
  }

  /** Creates (or adopts) the Node and its Lease and reports it Ready. */
  async register(): Promise<void> {
    const body: V1Node = {
      metadata: {
        name: this.nodeName,
        labels: { ...this.identity.labels },
        annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
      },
    };
    let node: V1Node;
    try {
      node = await this.clients.core.createNode({ body });
    } catch (error) {
      if (apiStatus(error) !== 409) throw new Error(`registering node ${this.nodeName}: ${describeApiError(error)}`);
      node = await this.clients.core.patchNode(
        { name: this.nodeName, body: { metadata: { labels: this.identity.labels } } },
        mergePatch,
      );
    }
    try {
      await this.clients.coordination.createNamespacedLease({
        namespace: LEASE_NAMESPACE,
        body: {
          metadata: {
            name: this.nodeName,
            namespace: LEASE_NAMESPACE,
            ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: this.nodeName, uid: node.metadata?.uid ?? '' }],
          },
          spec: { holderIdentity: this.nodeName, leaseDurationSeconds: LEASE_DURATION_SECONDS },
        },
      });
    } catch (error) {
      if (apiStatus(error) !== 409)
        throw new Error(`creating lease of node ${this.nodeName}: ${describeApiError(error)}`);
    }
    await this.beat();
    await this.liftNotReadyTaints();
  }

  /** Removes the not-ready/unreachable taints, as the node lifecycle controller does for a Ready node. */
  private async liftNotReadyTaints(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const node = await this.clients.core.readNode({ name: this.nodeName });
      const taints = node.spec?.taints ?? [];
      const kept = taints.filter((taint) => !NOT_READY_TAINT_KEYS.has(taint.key));
      if (kept.length === taints.length) return;
      try {
        // Taints are replaced as a whole; the resourceVersion makes a concurrent change fail with 409.
        await this.clients.core.patchNode(
          {
            name: this.nodeName,
            body: { metadata: { resourceVersion: node.metadata?.resourceVersion }, spec: { taints: kept } },
          },
          mergePatch,
        );
        return;
      } catch (error) {
        if (apiStatus(error) !== 409 || attempt >= TAINT_UPDATE_ATTEMPTS) {
          throw new Error(`lifting the not-ready taint of node ${this.nodeName}: ${describeApiError(error)}`);
        }
      }
    }
  }

  private async beat(): Promise<void> {
    const now = new Date();
    await this.clients.coordination.patchNamespacedLease(
      { name: this.nodeName, namespace: LEASE_NAMESPACE, body: { spec: { renewTime: microTime(now) } } },
      mergePatch,
    );
    await this.clients.core.patchNodeStatus(
      { name: this.nodeName, body: { status: this.nodeStatus(apiTime(now)) } },
      mergePatch,
    );
  }

  start(): void {
    this.timer = setInterval(() => {
      this.beat().catch((error: unknown) =>
        this.logger.warn('node heartbeat failed', { node: this.nodeName, error: describeApiError(error) }),
      );
    }, HEARTBEAT_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
