/**
 * Discovery for clients: a cluster publishes its connection strings in `<name>-connection`, and a
 * client that knows nothing else finds the ensemble through it. examples/clients/zkcli-pod.yaml,
 * applied as written, runs zkCli.sh on the process kubelet with the ConfigMap as its environment,
 * and writes a znode through the per-member connection string; the test reads it back. (The
 * client Service form cannot be exercised here: the test control plane has no Service routing or
 * DNS; pods resolve their namespace's member names through /etc/hosts.)
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import test from 'ava';
import { toolEnvironment } from '../harness/controlplane.js';
import { controlPlane, newNamespace } from '../harness/fixture.js';
import { pollUntil } from '../harness/poll.js';
import { repoPath } from '../harness/repo.js';
import { createCluster, FORMED_MS, isRunning, openClusterSession, waitForStatus } from '../support/clusters.js';
import { runOperator } from '../support/operator.js';

const run = promisify(execFile);
// The example's names: its cluster is examples/zookeepercluster.yaml's `example`.
const CLUSTER = 'example';
const CLIENT_POD = 'zookeeper-client-example';

test('the example client finds the ensemble through the discovery ConfigMap and writes a znode', async (t) => {
  const namespace = await newNamespace(t);
  await runOperator(t, namespace);
  const plane = await controlPlane();
  const core = plane.kubeConfig.makeApiClient(CoreV1Api);

  await createCluster(namespace, CLUSTER, { replicas: 3, storage: { ephemeral: true } });
  await waitForStatus(namespace, CLUSTER, 'Running', isRunning, FORMED_MS);

  const discovery = await core.readNamespacedConfigMap({ namespace, name: `${CLUSTER}-connection` });
  t.is(discovery.metadata?.ownerReferences?.[0]?.name, CLUSTER);
  const members = (discovery.data?.ZOOKEEPER_CONNECT_MEMBERS ?? '').split(',');
  t.deepEqual(
    members,
    [0, 1, 2].map((ordinal) => `${CLUSTER}-${ordinal}.${CLUSTER}-headless.${namespace}.svc.cluster.local:2181`),
  );
  t.is(discovery.data?.ZOOKEEPER_CONNECT, `${CLUSTER}-client.${namespace}.svc.cluster.local:2181`);
  t.is(discovery.data?.ZOOKEEPER_TLS_ENABLED, 'false');

  await run(
    plane.binaries.kubectl,
    ['apply', '--server-side', '-n', namespace, '-f', repoPath('examples/clients/zkcli-pod.yaml')],
    { env: toolEnvironment(plane) },
  );
  const phase = await pollUntil(
    'the client pod to finish',
    async () => {
      const pod = await core.readNamespacedPod({ namespace, name: CLIENT_POD });
      const ended = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
      return ended ? pod.status?.phase : undefined;
    },
    { timeoutMs: 120_000 },
  );
  t.is(phase, 'Succeeded', 'zkCli.sh created and read the znode');

  const session = await openClusterSession(namespace, CLUSTER);
  try {
    await session.sync('/client-example');
    const { data } = await session.getData('/client-example');
    t.is(Buffer.from(data).toString('utf8'), 'written through the discovery ConfigMap');
  } finally {
    await session.close();
  }
});
