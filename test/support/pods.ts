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
