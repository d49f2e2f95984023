/**
 * How many member pods the StatefulSet keeps. Pure.
 *
 * Membership of a formed ensemble may only change through ZooKeeper's dynamic reconfiguration,
 * one voter at a time. Until the operator drives that, it never changes the pod count of a
 * formed ensemble: growing would start members the ensemble never adds, and shrinking would
 * remove voters without a reconfig (3 → 1 would lose quorum). The change waits, and says so.
 */
import type { Reason } from './rolling-restart.js';

export interface PodCountDecision {
  podCount: number;
  /** Why spec.replicas is not applied now, if it is not. */
  held?: Reason;
}

export function decidePodCount(input: {
  desiredReplicas: number;
  /** The StatefulSet's current pod count; undefined before it exists. */
  liveReplicas: number | undefined;
  formed: boolean;
  paused: boolean;
}): PodCountDecision {
  const { desiredReplicas, liveReplicas, formed, paused } = input;
  if (liveReplicas === undefined || liveReplicas === desiredReplicas) return { podCount: desiredReplicas };
  if (paused) {
    return {
      podCount: liveReplicas,
      held: { code: 'Paused', message: `spec.paused is set: the ensemble stays at ${liveReplicas} member(s)` },
    };
  }
  if (!formed) return { podCount: desiredReplicas };
  return {
    podCount: liveReplicas,
    held: {
      code: 'MembershipChangeUnsupported',
      message: `spec.replicas is ${desiredReplicas} but the ensemble has ${liveReplicas} member(s): changing the membership of a running ensemble needs dynamic reconfiguration, which this operator version does not perform yet; nothing was changed`,
    },
  };
}
