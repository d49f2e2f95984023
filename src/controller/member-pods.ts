/**
 * Member pods as the decisions see them: server id, revision, whether they are terminating or
 * stuck, and their address. Pure translation of V1Pod.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { REVISION_ANNOTATION } from '../api/constants.js';
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

/** Server id of a member pod `<cluster>-<ordinal>`, or undefined for any other name. */
export function myidOfPod(clusterName: string, podName: string): number | undefined {
  const match = new RegExp(`^${clusterName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d+)$`).exec(podName);
  return match ? Number(match[1]) + 1 : undefined;
}

export function toMemberPod(clusterName: string, pod: V1Pod): MemberPod | undefined {
  const name = pod.metadata?.name ?? '';
  const myid = myidOfPod(clusterName, name);
  if (myid === undefined) return undefined;
  return {
    name,
    myid,
    revision: pod.metadata?.annotations?.[REVISION_ANNOTATION],
    terminating: pod.metadata?.deletionTimestamp !== undefined,
    stuck: (pod.status?.containerStatuses ?? []).some((c) => STUCK_REASONS.has(c.state?.waiting?.reason ?? '')),
    ready: (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    createdAt: new Date(pod.metadata?.creationTimestamp ?? 0),
  };
}

export function toMemberAddress(clusterName: string, pod: V1Pod): MemberAddress | undefined {
  const name = pod.metadata?.name ?? '';
  const myid = myidOfPod(clusterName, name);
  if (myid === undefined) return undefined;
  return { pod: name, myid, ip: pod.metadata?.deletionTimestamp === undefined ? pod.status?.podIP : undefined };
}
