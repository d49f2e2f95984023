// The kubelet's Node: registered with the usual labels, capacity and its InternalIP (the bridge
// address), then kept Ready by renewing its Lease in kube-node-lease and the Ready condition's
// heartbeat every 10 s, so the node lifecycle controller neither taints it nor evicts its pods.

import { cpus, release, totalmem } from 'node:os';
import type { V1Node } from '@kubernetes/client-node';
import { apiStatus, describeApiError, type KubeClients, mergePatch } from './kube.js';
import type { Logger } from './log.js';
import { apiTime } from './status.js';

const HEARTBEAT_MS = 10_000;
const LEASE_DURATION_SECONDS = 40;
const LEASE_NAMESPACE = 'kube-node-lease';

/** MicroTime, the Lease's timestamp format. */
function microTime(date: Date): string {
  return date.toISOString().replace('Z', '000Z');
}

export class NodeHeartbeat {
  private timer: NodeJS.Timeout | undefined;
  private readonly readySince = apiTime(new Date());

  constructor(
    private readonly clients: KubeClients,
    private readonly nodeName: string,
    private readonly internalIP: string,
    private readonly logger: Logger,
  ) {}

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
        labels: {
          'kubernetes.io/hostname': this.nodeName,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
        },
        annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
      },
    };
    let node: V1Node;
    try {
      node = await this.clients.core.createNode({ body });
    } catch (error) {
      if (apiStatus(error) !== 409) throw new Error(`registering node ${this.nodeName}: ${describeApiError(error)}`);
      node = await this.clients.core.readNode({ name: this.nodeName });
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
