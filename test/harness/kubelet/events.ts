// Kubernetes Events about pods, as a kubelet records them (source `kubelet`, the pod's node as host).
// Repeats of the same reason and message on a pod bump the count of one Event instead of
// creating new ones. Recording is best effort: a lost Event must not stop a pod.

import { randomBytes } from 'node:crypto';
import type { CoreV1Api, CoreV1Event, V1Pod } from '@kubernetes/client-node';
import { apiStatus, describeApiError, mergePatch } from './kube.js';
import type { Logger } from './log.js';

export type EventType = 'Normal' | 'Warning';

export class EventRecorder {
  private readonly recorded = new Map<string, { name: string; namespace: string; count: number }>();

  constructor(
    private readonly core: CoreV1Api,
    private readonly logger: Logger,
    private readonly component = 'kubelet',
  ) {}

  async record(pod: V1Pod, type: EventType, reason: string, message: string): Promise<void> {
    const namespace = pod.metadata?.namespace ?? 'default';
    const key = `${pod.metadata?.uid}/${reason}/${message}`;
    const now = new Date();
    this.logger.info(`event ${reason}`, { pod: `${namespace}/${pod.metadata?.name}`, type, message });
    try {
      const previous = this.recorded.get(key);
      if (previous) {
        previous.count += 1;
        try {
          await this.core.patchNamespacedEvent(
            { name: previous.name, namespace, body: { count: previous.count, lastTimestamp: now } },
            mergePatch,
          );
          return;
        } catch (error) {
          if (apiStatus(error) !== 404) throw error;
        }
      }
      const name = `${pod.metadata?.name}.${randomBytes(8).toString('hex')}`;
      const nodeName = pod.spec?.nodeName ?? '';
      const body: CoreV1Event = {
        metadata: { name, namespace },
        involvedObject: {
          apiVersion: 'v1',
          kind: 'Pod',
          namespace,
          name: pod.metadata?.name ?? '',
          uid: pod.metadata?.uid ?? '',
        },
        type,
        reason,
        message,
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component: this.component, host: nodeName },
        reportingComponent: this.component,
        reportingInstance: nodeName,
      };
      await this.core.createNamespacedEvent({ namespace, body });
      this.recorded.set(key, { name, namespace, count: 1 });
    } catch (error) {
      // Events are diagnostics; a namespace being deleted rejects them, and the pod must go on.
      this.logger.warn(`could not record event ${reason}`, { pod: pod.metadata?.name, error: describeApiError(error) });
    }
  }

  /** Forgets the aggregation state of a pod that is gone. */
  forget(podUid: string): void {
    for (const key of this.recorded.keys()) if (key.startsWith(`${podUid}/`)) this.recorded.delete(key);
  }
}
