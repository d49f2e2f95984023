/**
 * Pods are placed as a real cluster places them: kube-scheduler binds them to the process
 * kubelet's three nodes (one per zone, `topology.kubernetes.io/zone` = zone-a/b/c), so
 * nodeSelector, the operator's default pod anti-affinity and topology spread decide, and a pod
 * that fits no node stays Pending with the scheduler's FailedScheduling Event and never runs.
 * Taints are proven in kubelet.test.ts, on a control plane of its own: tainting a node of this
 * shared one would move other test files' pods.
 */
import { AppsV1Api, CoreV1Api, type V1Node, type V1Pod } from '@kubernetes/client-node';
import test from 'ava';
import { selectorLabels } from '../../src/render/names.js';
import { controlPlane, newNamespace } from '../harness/fixture.js';
import { pollUntil } from '../harness/poll.js';
import { readProcessTable } from '../harness/process-table.js';
import { createCluster, FORMED_MS, isRunning, memberPods, waitForStatus } from '../support/clusters.js';
import { runOperator } from '../support/operator.js';
import { assertUnschedulable } from '../support/pods.js';

const ZONE = 'topology.kubernetes.io/zone';
const HOSTNAME = 'kubernetes.io/hostname';
/** An image the process kubelet does not run: enough for pods that only need to be placed. */
const PLACEMENT_ONLY_IMAGE = 'registry.k8s.io/pause:3.10';

async function clients() {
  const kubeConfig = (await controlPlane()).kubeConfig;
  return { core: kubeConfig.makeApiClient(CoreV1Api), apps: kubeConfig.makeApiClient(AppsV1Api) };
}

async function nodes(): Promise<V1Node[]> {
  const { core } = await clients();
  return (await core.listNode()).items;
}

/** node name -> zone */
async function zonesByNode(): Promise<Map<string, string>> {
  return new Map((await nodes()).map((node) => [node.metadata?.name ?? '', node.metadata?.labels?.[ZONE] ?? '']));
}

/** Processes on this machine with an argument containing `marker`. */
function processesWith(marker: string): number[] {
  return readProcessTable()
    .filter((entry) => entry.argv.some((arg) => arg.includes(marker)))
    .map((entry) => entry.pid);
}

/** A pod running `sleep` under the name `marker` (argv[0]), so its process can be found. */
function markedPod(name: string, marker: string, nodeSelector: Record<string, string>): V1Pod {
  return {
    metadata: { name },
    spec: {
      terminationGracePeriodSeconds: 1,
      nodeSelector,
      containers: [
        { name: 'main', image: 'zookeeper:3.9.4', command: ['/bin/bash', '-c', `exec -a ${marker} sleep 600`] },
      ],
    },
  };
}

test('a pod whose nodeSelector matches no node stays Pending with FailedScheduling and never runs', async (t) => {
  const namespace = await newNamespace(t);
  const { core } = await clients();
  const nodeCount = (await nodes()).length;
  const marker = (name: string) => `zkop-${namespace}-${name}`;
  await core.createNamespacedPod({ namespace, body: markedPod('nowhere', marker('nowhere'), { [ZONE]: 'zone-x' }) });
  await core.createNamespacedPod({ namespace, body: markedPod('zone-b', marker('zone-b'), { [ZONE]: 'zone-b' }) });

  // The control: the same pod with a satisfiable selector runs on that zone's node, and its process is seen.
  const running = await pollUntil(
    'pod zone-b to run',
    async () => {
      const pod = await core.readNamespacedPod({ namespace, name: 'zone-b' });
      return pod.status?.containerStatuses?.[0]?.state?.running ? pod : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  t.is((await zonesByNode()).get(running.spec?.nodeName ?? ''), 'zone-b');
  t.true(processesWith(marker('zone-b')).length > 0, 'the control pod has a process');

  const failed = await pollUntil(
    'the scheduler to report pod nowhere unschedulable',
    async () => {
      const events = await core.listNamespacedEvent({
        namespace,
        fieldSelector: 'involvedObject.name=nowhere,reason=FailedScheduling',
      });
      return events.items[0];
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
  t.log(`FailedScheduling: ${failed.message}`);
  t.is(failed.type, 'Warning');
  t.is(failed.reportingComponent, 'default-scheduler');
  t.true(
    (failed.message ?? '').startsWith(
      `0/${nodeCount} nodes are available: ${nodeCount} node(s) didn't match Pod's node affinity/selector.`,
    ),
    failed.message,
  );
  const nowhere = await core.readNamespacedPod({ namespace, name: 'nowhere' });
  assertUnschedulable(t, nowhere);
  t.is(nowhere.status?.containerStatuses, undefined, 'no kubelet reported on it');
  t.deepEqual(processesWith(marker('nowhere')), [], 'no process was started for it');
});

test("a three-member cluster lands on three nodes through the operator's default anti-affinity", async (t) => {
  const namespace = await newNamespace(t);
  await runOperator(t, namespace);
  await createCluster(namespace, 'zk', { replicas: 3, storage: { size: '1Gi' } });
  await waitForStatus(namespace, 'zk', 'Running', isRunning, FORMED_MS);

  const pods = await memberPods(namespace, 'zk');
  t.is(pods.length, 3);
  for (const pod of pods) {
    // As plain data: client-node hands out class instances.
    t.deepEqual(JSON.parse(JSON.stringify(pod.spec?.affinity)), {
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          {
            weight: 100,
            podAffinityTerm: {
              topologyKey: HOSTNAME,
              labelSelector: { matchLabels: selectorLabels({ name: 'zk', namespace }) },
            },
          },
        ],
      },
    });
  }
  const placed = pods.map((pod) => pod.spec?.nodeName ?? '');
  t.log(`members on ${placed.join(', ')}`);
  t.is(new Set(placed).size, 3, `one member per node: ${placed.join(', ')}`);
  const zones = await zonesByNode();
  t.deepEqual(placed.map((node) => zones.get(node)).sort(), ['zone-a', 'zone-b', 'zone-c']);
});

test('a topologySpreadConstraint on the zone puts two of six pods in each zone, against an affinity that pulls them together', async (t) => {
  const namespace = await newNamespace(t);
  const { core, apps } = await clients();
  const labels = { app: 'spread' };
  await apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: 'spread' },
      spec: {
        replicas: 6,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            // Preferred: all on one node. Required: at most one more pod in any zone than in another.
            affinity: {
              podAffinity: {
                preferredDuringSchedulingIgnoredDuringExecution: [
                  { weight: 100, podAffinityTerm: { topologyKey: HOSTNAME, labelSelector: { matchLabels: labels } } },
                ],
              },
            },
            topologySpreadConstraints: [
              {
                maxSkew: 1,
                topologyKey: ZONE,
                whenUnsatisfiable: 'DoNotSchedule',
                labelSelector: { matchLabels: labels },
              },
            ],
            containers: [{ name: 'main', image: PLACEMENT_ONLY_IMAGE }],
          },
        },
      },
    },
  });

  const placed = await pollUntil(
    'six scheduled pods',
    async () => {
      const pods = (await core.listNamespacedPod({ namespace, labelSelector: 'app=spread' })).items;
      const nodeNames = pods.map((pod) => pod.spec?.nodeName);
      return pods.length === 6 && nodeNames.every((name) => name !== undefined) ? (nodeNames as string[]) : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  const zones = await zonesByNode();
  const perZone: Record<string, number> = {};
  for (const node of placed) {
    const zone = zones.get(node) ?? `unknown (${node})`;
    perZone[zone] = (perZone[zone] ?? 0) + 1;
  }
  t.deepEqual(perZone, { 'zone-a': 2, 'zone-b': 2, 'zone-c': 2 });
});
