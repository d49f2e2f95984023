/**
 * Kubernetes Events on the objects the operator acts on, rate-limited so a failing loop
 * cannot flood the API: an identical event (same object, type, reason and message) is sent
 * once per `dedupeWindowMs`, and each object has a token bucket like client-go's event
 * spam filter (a burst of 25, then one more every 5 minutes).
 */
import type { CoreV1Api, V1ObjectReference } from '@kubernetes/client-node';
import { OPERATOR_NAME } from '../api/constants.js';
import type { Clock } from './clock.js';
import { classifyKubeError } from './kube-errors.js';
import type { Logger } from './logging.js';

export type EventType = 'Normal' | 'Warning';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; uid?: string | undefined };
}

export interface EventRecorderOptions {
  core: CoreV1Api;
  clock: Clock;
  logger: Logger;
  /** Identifies this operator process in `reportingInstance`. */
  instance: string;
  burst?: number;
  refillIntervalMs?: number;
  dedupeWindowMs?: number;
}

interface Bucket {
  tokens: number;
  refilledAt: number;
}

export class EventRecorder {
  private readonly buckets = new Map<string, Bucket>();
  private readonly lastSent = new Map<string, number>();
  private readonly burst: number;
  private readonly refillIntervalMs: number;
  private readonly dedupeWindowMs: number;

  constructor(private readonly options: EventRecorderOptions) {
    this.burst = options.burst ?? 25;
    this.refillIntervalMs = options.refillIntervalMs ?? 300_000;
    this.dedupeWindowMs = options.dedupeWindowMs ?? 600_000;
  }

  /**
   * Records an event; never throws (an event is worth less than the action it describes),
   * but logs a failure to send one. Resolves true when the event was sent.
   */
  async record(target: EventTarget, type: EventType, reason: string, message: string): Promise<boolean> {
    const now = this.options.clock.now();
    const objectId = target.metadata.uid ?? `${target.metadata.namespace}/${target.metadata.name}`;
    const eventId = `${objectId}\u0000${type}\u0000${reason}\u0000${message}`;
    const previous = this.lastSent.get(eventId);
    if (previous !== undefined && now - previous < this.dedupeWindowMs) return false;
    if (!this.takeToken(objectId, now)) {
      this.options.logger.debug('event dropped by the rate limit', { reason, object: target.metadata.name });
      return false;
    }
    this.lastSent.set(eventId, now);
    this.forgetOldEntries(now);
    const time = new Date(now);
    const involvedObject: V1ObjectReference = {
      apiVersion: target.apiVersion,
      kind: target.kind,
      name: target.metadata.name,
      namespace: target.metadata.namespace,
      ...(target.metadata.uid === undefined ? {} : { uid: target.metadata.uid }),
    };
    try {
      await this.options.core.createNamespacedEvent({
        namespace: target.metadata.namespace,
        body: {
          metadata: { generateName: `${target.metadata.name}.`, namespace: target.metadata.namespace },
          involvedObject,
          type,
          reason,
          message,
          count: 1,
          firstTimestamp: time,
          lastTimestamp: time,
          source: { component: OPERATOR_NAME },
          reportingComponent: OPERATOR_NAME,
          reportingInstance: this.options.instance,
        },
      });
      return true;
    } catch (error) {
      // The API's own one-line message, never the raw response (client-node's error text carries
      // the whole body and the headers).
      const refusal = classifyKubeError(error);
      const fields = {
        reason,
        object: target.metadata.name,
        error: refusal.message,
        ...(refusal.status === undefined ? {} : { status: refusal.status }),
      };
      // A namespace being deleted refuses every new object: the event has nowhere to go, and
      // nobody needs to act on that.
      if (refusal.kind === 'namespaceTerminating') {
        this.options.logger.debug('event not recorded: its namespace is being deleted', fields);
      } else {
        this.options.logger.warn('could not record an event', fields);
      }
      return false;
    }
  }

  private takeToken(objectId: string, now: number): boolean {
    const bucket = this.buckets.get(objectId) ?? { tokens: this.burst, refilledAt: now };
    const refills = Math.floor((now - bucket.refilledAt) / this.refillIntervalMs);
    if (refills > 0) {
      bucket.tokens = Math.min(this.burst, bucket.tokens + refills);
      bucket.refilledAt += refills * this.refillIntervalMs;
    }
    this.buckets.set(objectId, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Keeps the dedupe map from growing without bound in a long-running process. */
  private forgetOldEntries(now: number): void {
    for (const [id, sentAt] of this.lastSent) {
      if (now - sentAt >= this.dedupeWindowMs) this.lastSent.delete(id);
    }
  }
}
