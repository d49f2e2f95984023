import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';
import test from 'ava';
import { podProblem, toMemberPod } from '../../../src/controller/member-pods.js';

const pod = (status: V1PodStatus): V1Pod => ({ metadata: { name: 'zk-1' }, status });

const cases: { name: string; status: V1PodStatus; problem: string | undefined }[] = [
  {
    name: 'running and ready: nothing to say',
    status: { conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [running()] },
    problem: undefined,
  },
  {
    name: 'a pull that keeps failing: the waiting reason and the kubelet message',
    status: {
      containerStatuses: [waiting('ImagePullBackOff', 'Back-off pulling image "zookeeper:3.9.99"')],
    },
    problem: 'ImagePullBackOff: Back-off pulling image "zookeeper:3.9.99"',
  },
  {
    name: 'a crash loop: the waiting reason and how the container last ended',
    status: {
      containerStatuses: [
        {
          ...waiting('CrashLoopBackOff', 'back-off 40s restarting failed container'),
          lastState: { terminated: { exitCode: 1, reason: 'Error', message: 'zoo.cfg:\n  bad   value' } },
        },
      ],
    },
    problem: 'CrashLoopBackOff: back-off 40s restarting failed container; last exit code 1 (Error: zoo.cfg: bad value)',
  },
  {
    name: 'still being created: not a problem',
    status: { containerStatuses: [waiting('ContainerCreating', '')] },
    problem: undefined,
  },
  {
    name: 'restarted once and running again: the old exit is history',
    status: {
      containerStatuses: [{ ...running(), lastState: { terminated: { exitCode: 137, reason: 'OOMKilled' } } }],
    },
    problem: undefined,
  },
  {
    name: 'no node fits: the scheduler says why',
    status: {
      phase: 'Pending',
      conditions: [
        {
          type: 'PodScheduled',
          status: 'False',
          reason: 'Unschedulable',
          message: "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.",
        },
      ],
    },
    problem: "Unschedulable: 0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.",
  },
  {
    name: 'a long message is cut, so a status stays readable',
    status: { containerStatuses: [waiting('ErrImagePull', 'x'.repeat(500))] },
    problem: `ErrImagePull: ${'x'.repeat(199)}…`,
  },
];

for (const c of cases) {
  test(`pod problem: ${c.name}`, (t) => {
    t.is(podProblem(pod(c.status)), c.problem);
    t.is(toMemberPod('zk', pod(c.status))?.problem, c.problem, 'the decisions see the same words');
  });
}

function running() {
  return {
    name: 'zookeeper',
    image: 'zookeeper:3.9.4',
    imageID: '',
    ready: true,
    restartCount: 0,
    state: { running: {} },
  };
}

function waiting(reason: string, message: string) {
  return {
    name: 'zookeeper',
    image: 'zookeeper:3.9.99',
    imageID: '',
    ready: false,
    restartCount: 0,
    state: { waiting: { reason, message } },
  };
}
