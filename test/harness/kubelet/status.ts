// Pod status as a kubelet reports it, computed from what the process kubelet observed: container
// states, the pod IP, and the previous conditions (whose transition times are kept while their
// status holds). Pure: the same input and `now` give the same status. Times are RFC 3339 strings
// with whole seconds, as the API server stores them, so an unchanged status compares equal.
// The status is sent as a strategic merge patch: conditions merge by type, so readiness-gate
// conditions written by others are left alone.
import type { V1Container, V1Pod } from '@kubernetes/client-node';

export type ContainerState =
  | { waiting: { reason: string; message?: string } }
  | { running: { startedAt: string } }
  | {
      terminated: {
        exitCode: number;
        signal?: number;
        reason: string;
        message?: string;
        startedAt: string;
        finishedAt: string;
        containerID?: string;
      };
    };

export interface ContainerStatus {
  name: string;
  image: string;
  imageID: string;
  containerID?: string;
  ready: boolean;
  started: boolean;
  restartCount: number;
  state: ContainerState;
  lastState: ContainerState | Record<string, never>;
}

/** A container that has not run yet, waiting for `reason`. */
export function waitingContainerStatus(container: V1Container, reason: string, message?: string): ContainerStatus {
  return {
    name: container.name,
    image: container.image ?? '',
    imageID: '',
    ready: false,
    started: false,
    restartCount: 0,
    state: { waiting: { reason, ...(message ? { message } : {}) } },
    lastState: {},
  };
}

export interface PodCondition {
  type: string;
  status: 'True' | 'False';
  reason?: string;
  message?: string;
  lastProbeTime: null;
  lastTransitionTime: string;
}

export interface PodStatus {
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  conditions: PodCondition[];
  hostIP: string;
  hostIPs: { ip: string }[];
  podIP?: string;
  podIPs?: { ip: string }[];
  startTime: string;
  containerStatuses: ContainerStatus[];
}

export interface PodObservation {
  pod: V1Pod;
  hostIP: string;
  podIP: string | undefined;
  startTime: string;
  containers: ContainerStatus[];
  previousConditions: readonly PodCondition[];
  now: string;
}

/** RFC 3339 with whole seconds, the API server's precision for metav1.Time. */
export function apiTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

function phaseOf(containers: readonly ContainerStatus[]): PodStatus['phase'] {
  if (containers.length > 0 && containers.every((c) => 'terminated' in c.state)) {
    return containers.every((c) => 'terminated' in c.state && c.state.terminated.exitCode === 0)
      ? 'Succeeded'
      : 'Failed';
  }
  const everyContainerRan = containers.every((c) => !('waiting' in c.state) || 'terminated' in c.lastState);
  return everyContainerRan ? 'Running' : 'Pending';
}

type DesiredCondition = Omit<PodCondition, 'lastTransitionTime' | 'lastProbeTime'>;

function desiredConditions(observation: PodObservation): DesiredCondition[] {
  const { pod, containers } = observation;
  const unready = containers.filter((c) => !c.ready).map((c) => c.name);
  const containersReady: DesiredCondition =
    unready.length === 0
      ? { type: 'ContainersReady', status: 'True' }
      : {
          type: 'ContainersReady',
          status: 'False',
          reason: 'ContainersNotReady',
          message: `containers with unready status: [${unready.join(' ')}]`,
        };
  const gates = (pod.spec?.readinessGates ?? []).map((gate) => gate.conditionType);
  const unmetGates = gates.filter((gate) => pod.status?.conditions?.find((c) => c.type === gate)?.status !== 'True');
  let ready: DesiredCondition = { type: 'Ready', status: 'True' };
  if (containersReady.status === 'False') ready = { ...containersReady, type: 'Ready' };
  else if (unmetGates.length > 0) {
    ready = {
      type: 'Ready',
      status: 'False',
      reason: 'ReadinessGatesNotReady',
      message: `corresponding condition of pod readiness gate "${unmetGates.join('", "')}" does not exist.`,
    };
  }
  return [
    { type: 'PodReadyToStartContainers', status: observation.podIP ? 'True' : 'False' },
    { type: 'Initialized', status: 'True' },
    ready,
    containersReady,
    { type: 'PodScheduled', status: 'True' },
  ];
}

/** Conditions with transition times carried over from `previous` when the status did not change. */
function withTransitions(
  desired: readonly DesiredCondition[],
  previous: readonly PodCondition[],
  now: string,
): PodCondition[] {
  return desired.map((condition) => {
    const before = previous.find((p) => p.type === condition.type);
    const lastTransitionTime = before && before.status === condition.status ? before.lastTransitionTime : now;
    return { ...condition, lastProbeTime: null, lastTransitionTime };
  });
}

export function buildPodStatus(observation: PodObservation): PodStatus {
  const { hostIP, podIP } = observation;
  return {
    phase: phaseOf(observation.containers),
    conditions: withTransitions(desiredConditions(observation), observation.previousConditions, observation.now),
    hostIP,
    hostIPs: [{ ip: hostIP }],
    ...(podIP ? { podIP, podIPs: [{ ip: podIP }] } : {}),
    startTime: observation.startTime,
    containerStatuses: observation.containers,
  };
}
