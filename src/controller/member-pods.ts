/**
 * Member pods as the decisions see them: server id, revision, whether they are terminating or
 * stuck, and their address. Pure translation of V1Pod.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { REVISION_ANNOTATION } from '../api/constants.js';
import { serverIdOfPod } from '../render/names.js';
import type { MemberAddress } from '../zookeeper/ensemble-reader.js';
import type { MemberPod } from './rolling-restart.js';

/** Waiting reasons of a container that will not come back by itself. */
const STUCK_REASONS = new Set([
  'CrashLoopBackOff',
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

/** Longest piece of a kubelet or scheduler message quoted in a status message or Event. */
const QUOTED_MESSAGE_LENGTH = 200;

const quote = (message: string | undefined): string => {
  const line = (message ?? '').replace(/\s+/g, ' ').trim();
  return line.length > QUOTED_MESSAGE_LENGTH ? `${line.slice(0, QUOTED_MESSAGE_LENGTH - 1)}…` : line;
};

/**
 * Why a member pod is not running its member, in the words of the scheduler and the kubelet:
 * unschedulable, a container waiting (a bad image, a crash loop), or how its container last
 * ended. Undefined while nothing says anything is wrong.
 */
export function podProblem(pod: V1Pod): string | undefined {
  const scheduled = (pod.status?.conditions ?? []).find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False') return `${scheduled.reason ?? 'not scheduled'}: ${quote(scheduled.message)}`;
  const problems: string[] = [];
  for (const container of pod.status?.containerStatuses ?? []) {
    const waiting = container.state?.waiting;
    if (waiting?.reason !== undefined && waiting.reason !== 'ContainerCreating') {
      problems.push(waiting.message ? `${waiting.reason}: ${quote(waiting.message)}` : waiting.reason);
    }
    const ended = container.lastState?.terminated;
    if (ended !== undefined && container.state?.running === undefined) {
      const detail = [ended.reason, ended.message ? quote(ended.message) : undefined].filter(Boolean).join(': ');
      problems.push(`last exit code ${ended.exitCode}${detail ? ` (${detail})` : ''}`);
    }
  }
  return problems.length > 0 ? problems.join('; ') : undefined;
}

export function toMemberPod(clusterName: string, pod: V1Pod): MemberPod | undefined {
  const name = pod.metadata?.name ?? '';
  const myid = serverIdOfPod(clusterName, name);
  if (myid === undefined) return undefined;
  const problem = podProblem(pod);
  return {
    name,
    myid,
    revision: pod.metadata?.annotations?.[REVISION_ANNOTATION],
    terminating: pod.metadata?.deletionTimestamp !== undefined,
    stuck: (pod.status?.containerStatuses ?? []).some((c) => STUCK_REASONS.has(c.state?.waiting?.reason ?? '')),
    restartedInPlace: (pod.status?.containerStatuses ?? []).some((c) => c.restartCount > 0),
    ready: (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    createdAt: new Date(pod.metadata?.creationTimestamp ?? 0),
    ...(problem === undefined ? {} : { problem }),
  };
}

export function toMemberAddress(clusterName: string, pod: V1Pod): MemberAddress | undefined {
  const name = pod.metadata?.name ?? '';
  const myid = serverIdOfPod(clusterName, name);
  if (myid === undefined) return undefined;
  return { pod: name, myid, ip: pod.metadata?.deletionTimestamp === undefined ? pod.status?.podIP : undefined };
}
