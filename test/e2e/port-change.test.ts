/**
 * Changing a running cluster's client, quorum and election ports end to end: the real control
 * plane, the process kubelet running real ZooKeeper, the operator under its RBAC, and a client
 * writing throughout. Each member restarts with the new template and then moves to its new
 * ports by reconfig; ZooKeeper's committed config is the judge of where members listen.
 */
import { CoreV1Api, NetworkingV1Api, type V1Pod } from '@kubernetes/client-node';
import test from 'ava';
import { objectNames } from '../../src/render/names.js';
import { askFourLetterWord } from '../../src/zookeeper/four-letter-word.js';
import { parseConf } from '../../src/zookeeper/readings.js';
import { clientEndpointOf, parseServerLine } from '../../src/zookeeper/reconfig-client.js';
import { controlPlane, newNamespace } from '../harness/fixture.js';
import { pollUntil } from '../harness/poll.js';
import {
  clusterEvents,
  createCluster,
  FORMED_MS,
  isRunning,
  isSettled,
  memberPods,
  patchCluster,
  ROLLED_MS,
  waitForStatus,
} from '../support/clusters.js';
import { leaderEpoch } from '../support/leader-epoch.js';
import { runOperator } from '../support/operator.js';
import { ZnodeWriter } from '../support/znode-writer.js';

const NEW_PORTS = { client: 2281, quorum: 2889, election: 3889 };

const isReady = (pod: V1Pod) =>
  pod.metadata?.deletionTimestamp === undefined &&
  (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/** The client port a pod's template declares: where the client Service's named target port sends clients. */
const declaredClientPort = (pod: V1Pod) =>
  pod.spec?.containers[0]?.ports?.find((p) => p.name === 'client')?.containerPort ?? 2181;

/**
 * `ip:port,…` of the Ready members, each at the client port its pod declares: what the client
 * Service routes to (the test has no Service networking, so it reaches pods by IP).
 */
async function serviceEndpoints(namespace: string): Promise<string> {
  return (await memberPods(namespace, 'zk'))
    .filter((pod) => pod.status?.podIP && isReady(pod))
    .map((pod) => `${pod.status?.podIP}:${declaredClientPort(pod)}`)
    .join(',');
}

/** Every member's committed line, as the first member that answers `conf` at `clientPort` reports it. */
async function committedLines(namespace: string, clientPort: number) {
  return pollUntil(
    'a member to report the committed config',
    async () => {
      for (const pod of await memberPods(namespace, 'zk')) {
        const ip = pod.status?.podIP;
        if (!ip) continue;
        const conf = parseConf(await askFourLetterWord(ip, clientPort, 'conf', 2_000).catch(() => ''));
        if (conf !== undefined && conf.members.length > 0)
          return conf.members.map((m) => parseServerLine(m.line ?? ''));
      }
      return undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
}

test.serial(
  'changing ports.client, quorum and election moves all 3 members by reconfig, with one election and no lost write',
  async (t) => {
    const namespace = await newNamespace(t);
    await runOperator(t, namespace);
    await createCluster(namespace, 'zk', { replicas: 3, storage: { size: '1Gi' } });
    const formed = await waitForStatus(namespace, 'zk', 'Running', isRunning, FORMED_MS);
    t.is(formed.ready, '3/3');

    const writer = await ZnodeWriter.start(() => serviceEndpoints(namespace), '/e2e');
    t.teardown(() => writer.stop().catch(() => undefined));
    const before = await leaderEpoch(() => memberPods(namespace, 'zk'));
    const changedAt = Date.now();
    await patchCluster(namespace, 'zk', { spec: { ports: NEW_PORTS } });

    await waitForStatus(
      namespace,
      'zk',
      'restarted onto the new revision, settled',
      (status, cluster) => status.targetRevision !== formed.targetRevision && isSettled(status, cluster),
      ROLLED_MS,
    );
    const lines = await committedLines(namespace, NEW_PORTS.client);
    const changeSeconds = Math.round((Date.now() - changedAt) / 1000);
    const report = await writer.stop();
    const after = await leaderEpoch(() => memberPods(namespace, 'zk'), NEW_PORTS.client);

    t.log(
      `writes acknowledged ${report.acknowledged}, failed attempts ${report.failed}, longest gap ${report.longestGapMs} ms`,
    );
    t.log(`from the patch to settled on the new ports: ${changeSeconds} s`);
    t.log(`leader ${before.leader} (epoch ${before.epoch}) -> ${after.leader} (epoch ${after.epoch})`);
    t.log(lines.map((l) => l.line).join('\n'));
    t.deepEqual(report.lost, [], 'every acknowledged write survived');
    t.true(report.acknowledged > 0);
    t.deepEqual(
      lines.map((l) => [l.myid, l.quorumPort, l.electionPort, clientEndpointOf(l)?.port]),
      [1, 2, 3].map((myid) => [myid, NEW_PORTS.quorum, NEW_PORTS.election, NEW_PORTS.client]),
      'ZooKeeper committed every member on the new ports',
    );
    t.true(after.epoch - before.epoch <= 1, 'at most one leader election for the whole change');

    const moves = (await clusterEvents(namespace, 'zk')).filter((e) => /^Moving(Member|Leader):/.test(e));
    t.is(moves.length, 3, moves.join('\n'));
    t.regex(
      moves[0] ?? '',
      /^MovingMember: moving member \d \(zk-\d\) by reconfig: client port 2181 -> 2281, quorum port 2888 -> 2889, election port 3888 -> 3889/,
    );

    // Once every member moved, the Service and the NetworkPolicy name the new ports only.
    const core = (await controlPlane()).kubeConfig;
    const service = await core
      .makeApiClient(CoreV1Api)
      .readNamespacedService({ namespace, name: objectNames({ namespace, name: 'zk' }).clientService });
    t.deepEqual(
      service.spec?.ports?.map((p) => p.port),
      [NEW_PORTS.client],
    );
    const policy = await core
      .makeApiClient(NetworkingV1Api)
      .readNamespacedNetworkPolicy({ namespace, name: objectNames({ namespace, name: 'zk' }).networkPolicy });
    const policyPorts = new Set(policy.spec?.ingress?.flatMap((rule) => rule.ports?.map((p) => p.port) ?? []));
    t.false(policyPorts.has(2181) || policyPorts.has(2888) || policyPorts.has(3888), [...policyPorts].join(','));
  },
);
