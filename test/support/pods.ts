/** Assertions about pods, for tests on any control plane (the shared one or a test's own). */
import type { V1Pod } from '@kubernetes/client-node';
import type { ExecutionContext } from 'ava';

/** What kube-scheduler leaves on a pod that fits no node: unbound, Pending, PodScheduled False/Unschedulable. */
export function assertUnschedulable(t: ExecutionContext, pod: V1Pod): void {
  const name = pod.metadata?.name;
  t.is(pod.spec?.nodeName, undefined, `${name} is bound to no node`);
  t.is(pod.status?.phase, 'Pending', `${name} is Pending`);
  t.like(
    pod.status?.conditions?.find((c) => c.type === 'PodScheduled'),
    { status: 'False', reason: 'Unschedulable' },
    `${name} is PodScheduled False/Unschedulable`,
  );
}

/** The network namespace and pid of `pod`'s first container as the process kubelet runs it (`process://<netns>/<pid>`). */
export function containerProcessOf(pod: V1Pod): { netns: string; pid: number } {
  const id = pod.status?.containerStatuses?.[0]?.containerID ?? '';
  const match = /^process:\/\/([^/]+)\/(\d+)$/.exec(id);
  if (match === null) throw new Error(`pod ${pod.metadata?.name} has no process container id: ${JSON.stringify(id)}`);
  return { netns: match[1] as string, pid: Number(match[2]) };
}
