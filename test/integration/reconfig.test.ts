/**
 * The reconfig client against real ZooKeeper servers on loopback: one 3-member ensemble for
 * the whole file, changed step by step (the tests run in order). Every change writes a znode
 * before and reads every znode written so far after it.
 */
import test from 'ava';
import { resolveSpec } from '../../src/api/defaults.js';
import { nextScalingStep, type ScalingStep } from '../../src/controller/scaling.js';
import { assessEnsemble } from '../../src/zookeeper/health.js';
import {
  addMember,
  type CommittedConfig,
  commitWrite,
  type ReconfigClientOptions,
  ReconfigError,
  readCommittedConfig,
  removeMember,
  returnCodeOf,
} from '../../src/zookeeper/reconfig-client.js';
import { ZooKeeperSession } from '../../src/zookeeper/session.js';
import { generateSuperPassword } from '../../src/zookeeper/super-digest.js';
import { CREATE_MODE, ERROR_CODE } from '../../src/zookeeper/wire-protocol.js';
import { delay, LocalEnsemble, waitFor } from '../support/local-ensemble.js';

const password = generateSuperPassword();
let ensemble: LocalEnsemble | undefined;
const written: string[] = [];

const zk = () => {
  if (ensemble === undefined) throw new Error('the ensemble did not start');
  return ensemble;
};
const options = (ids?: number[], extra: Partial<ReconfigClientOptions> = {}): ReconfigClientOptions => ({
  servers: zk().addresses(ids),
  superPassword: password,
  connectTimeoutMs: 20_000,
  ...extra,
});

/** A plain application session, as a user of the ensemble would open one. */
const connectApp = (servers: string[]) =>
  ZooKeeperSession.open({ servers, sessionTimeoutMs: 10_000, connectTimeoutMs: 20_000 });

/** Creates `path` unless it exists. */
const ensureZnode = (session: ZooKeeperSession, path: string) =>
  session.create(path, '', CREATE_MODE.persistent).catch((error: unknown) => {
    if (returnCodeOf(error) !== ERROR_CODE.nodeExists) throw error;
  });

async function writeAndVerify(name: string, ids?: number[]): Promise<string[]> {
  const client = await connectApp(zk().addresses(ids));
  try {
    await ensureZnode(client, '/scaling');
    await client.create(`/scaling/${name}`, name, CREATE_MODE.persistent);
    written.push(name);
    await client.sync('/scaling');
    return (await client.getChildren('/scaling')).sort();
  } finally {
    await client.close();
  }
}

async function expectEveryZnode(t: { deepEqual: (a: unknown, b: unknown, m?: string) => void }, name: string) {
  const children = await writeAndVerify(name);
  t.deepEqual(children, [...written].sort(), 'every znode written before survives the change');
}

async function health() {
  return assessEnsemble(await zk().readings());
}

test.before(async () => {
  ensemble = await LocalEnsemble.start({ size: 3, superPassword: password });
});

test.after.always(async () => {
  await ensemble?.stop();
});

let config: CommittedConfig;

test.serial('reads the committed config of a 3-member ensemble', async (t) => {
  config = await readCommittedConfig({ servers: zk().addresses() });
  t.deepEqual(config.voters, [1, 2, 3]);
  t.deepEqual(
    config.members.map((m) => m.line),
    [1, 2, 3].map((id) => zk().member(id).serverLine),
  );
  t.regex(config.version, /^[0-9a-f]+$/);
  // The same version as the leader's conf reports.
  t.is((await health()).configVersion, config.version);
  await expectEveryZnode(t, 'initial');
});

test.serial('a reconfig without the super user is refused with a clear error', async (t) => {
  const error = await t.throwsAsync(removeMember({ servers: zk().addresses() }, 3, config.version), {
    instanceOf: ReconfigError,
  });
  t.is(error?.code, 'NotAuthenticated');
  t.regex(error?.message ?? '', /zookeeper\.DigestAuthenticationProvider\.superDigest/);
  t.deepEqual(error?.observed?.voters, [1, 2, 3], 'nothing changed');
  t.is(error?.observed?.version, config.version);
});

test.serial('a reconfig with the wrong super password is refused, naming the digest', async (t) => {
  const error = await t.throwsAsync(removeMember(options(undefined, { superPassword: 'wrong' }), 3, config.version), {
    instanceOf: ReconfigError,
  });
  t.is(error?.code, 'NotAuthenticated');
  t.regex(error?.message ?? '', /did not match/);
  t.deepEqual((await readCommittedConfig(options())).voters, [1, 2, 3]);
});

test.serial('a reconfig conditional on a stale version is refused with BadVersion', async (t) => {
  const stale = (BigInt(`0x${config.version}`) - 1n).toString(16);
  const error = await t.throwsAsync(removeMember(options(), 3, stale), { instanceOf: ReconfigError });
  t.is(error?.code, 'BadVersion');
  t.regex(error?.message ?? '', /no longer version/);
  t.is(error?.observed?.version, config.version, 'the error reports the config read again');
  t.deepEqual(error?.observed?.voters, [1, 2, 3]);
});

test.serial(
  'a joiner started with the committed config plus itself becomes a synced non-voting follower',
  async (t) => {
    await writeAndVerify('before-joiner');
    await zk().startJoiner(4, [1, 2, 3]);
    const joined = await waitFor(
      'server 4 to sync as a non-voting follower',
      async () => {
        const h = await health();
        const joiner = h.members.find((m) => m.myid === 4);
        return joiner?.serving && joiner.synced && !joiner.voting ? h : undefined;
      },
      90_000,
    );
    const leader = (await zk().readings()).find((r) => r.myid === joined.leader?.myid);
    t.is(leader?.mntr?.syncedNonVotingFollowers, 1);
    t.is(leader?.mntr?.quorumSize, 3);
    t.deepEqual(joined.committedVoters, [1, 2, 3]);
    t.true(joined.available);
    // The joiner rewrote its config to the committed one, without itself.
    const joinerConf = (await zk().readings([4]))[0]?.conf;
    t.deepEqual(
      joinerConf?.members.map((m) => m.myid),
      [1, 2, 3],
    );
  },
);

test.serial('adds the joiner with a conditional reconfig: new version, quorum of 4', async (t) => {
  const before = await readCommittedConfig(options());
  const result = await addMember(options([1, 2, 3]), zk().member(4).serverLine, before.version);
  t.false(result.alreadyApplied);
  t.deepEqual(result.config.voters, [1, 2, 3, 4]);
  t.true(BigInt(`0x${result.config.version}`) > BigInt(`0x${before.version}`), 'the version moved');
  const after = await waitFor('the leader to count 4 synced voters', async () => {
    const h = await health();
    return h.quorumSize === 4 && h.syncedVoters === 4 ? h : undefined;
  });
  t.true(after.members.find((m) => m.myid === 4)?.voting);
  t.is(after.configVersion, result.config.version);
  config = result.config;
  await expectEveryZnode(t, 'after-add');
});

test.serial('adding a member that is already in the config sends no reconfig', async (t) => {
  const result = await addMember(options(), zk().member(4).serverLine, config.version);
  t.true(result.alreadyApplied);
  t.is(result.config.version, config.version, 'a no-op reconfig would have bumped the version');
});

test.serial('removes a follower; a write then activates the new config', async (t) => {
  const leader = (await health()).leader?.myid;
  const follower = [4, 3, 2, 1].find((id) => id !== leader) as number;
  await writeAndVerify('before-remove-follower');
  const result = await removeMember(options(), follower, config.version);
  t.false(result.connectionLost);
  t.false(result.config.voters.includes(follower));
  t.is(result.config.voters.length, 3);
  const removed = await waitFor('the leader to count 3 voters', async () => {
    const h = await health();
    return h.quorumSize === 3 && h.configVersion === result.config.version ? h : undefined;
  });
  t.false(
    removed.members.find((m) => m.myid === follower)?.voting,
    'the removed member stays as a non-voting follower',
  );
  await commitWrite(options());
  // What the planner observes as "active": the leader has processed a write after the reconfig.
  const active = await health();
  const leaderZxid = active.members.find((m) => m.myid === active.leader?.myid)?.zxid;
  t.true(BigInt(leaderZxid ?? '0') > BigInt(`0x${result.config.version}`));
  config = result.config;
  await zk().stopMember(follower);
  await expectEveryZnode(t, 'after-remove-follower');
});

test.serial('removes the leader: the lost answer is handled and the change committed', async (t) => {
  const before = await health();
  const leader = before.leader?.myid as number;
  t.truthy(leader);
  await writeAndVerify('before-remove-leader');
  const result = await removeMember(options(config.voters), leader, config.version);
  t.false(result.config.voters.includes(leader));
  t.is(result.config.voters.length, 2);
  t.log(`leader ${leader} removed; connection lost: ${result.connectionLost}`);
  const survivors = result.config.voters;
  const after = await waitFor('a new leader among the remaining voters', async () => {
    const h = assessEnsemble(await zk().readings(survivors));
    return h.leader !== undefined && h.leader.myid !== leader && h.available && h.quorumSize === 2 ? h : undefined;
  });
  t.true(survivors.includes(after.leader?.myid as number));
  config = result.config;
  await zk().stopMember(leader);
  await expectEveryZnode(t, 'after-remove-leader');
});

test.serial('a change whose new config has no synced quorum is refused with NewConfigNoQuorum', async (t) => {
  // Grow back to 3 voters and stop one: 2 of 3 synced keep the quorum, but adding a server that
  // never started makes a config of 4 whose majority (3) is not synced.
  const [a, b] = config.voters as [number, number];
  await zk().startJoiner(5, config.voters);
  await waitFor('server 5 to sync', async () => {
    const m = (await health()).members.find((x) => x.myid === 5);
    return m?.synced && !m.voting;
  });
  config = (await addMember(options(), zk().member(5).serverLine, config.version)).config;
  t.deepEqual(
    config.voters,
    [a, b, 5].sort((x, y) => x - y),
  );
  // Until the joiner has activated the new config it has only the committed config without
  // itself on disk; killed then, it could not start again ("My id 5 not in the peer list").
  await waitFor('server 5 to activate the config that has it', async () => {
    const m = (await health()).members.find((x) => x.myid === 5);
    return m?.voting && m.synced && m.configVersion === config.version;
  });
  await zk().stopMember(5);
  await waitFor('the leader to see 2 synced voters of 3', async () => {
    const h = assessEnsemble(await zk().readings([a, b]));
    return h.available && h.syncedVoters === 2 ? h : undefined;
  });
  const ghost = await zk().allocate(6);
  const error = await t.throwsAsync(addMember(options([a, b]), ghost.serverLine, config.version), {
    instanceOf: ReconfigError,
  });
  t.is(error?.code, 'NewConfigNoQuorum');
  t.regex(error?.message ?? '', /no quorum of the new config/);
  t.deepEqual(error?.observed?.voters, config.voters, 'nothing changed');
  zk().restartMember(5);
  await waitFor('server 5 back as a synced voter', async () => {
    const h = await health();
    return h.syncedVoters === 3 ? h : undefined;
  }).catch(async (error: Error) => {
    throw new Error(`${error.message}\n${JSON.stringify(await health())}\n${(await zk().log(5)).slice(-6000)}`);
  });
  await expectEveryZnode(t, 'after-no-quorum');
});

test.serial('reading from addresses where nothing listens fails with a clear error, not a crash', async (t) => {
  const error = await t.throwsAsync(readCommittedConfig({ servers: ['127.0.0.1:1'], connectTimeoutMs: 2_000 }), {
    instanceOf: ReconfigError,
  });
  t.is(error?.code, 'NoSession');
  t.regex(error?.message ?? '', /no ZooKeeper session with 127\.0\.0\.1:1 within 2000 ms/);
});

// ---- the scaling planner driving real ZooKeeper ----------------------------------------------

interface Cluster {
  ensemble: LocalEnsemble;
  podCount: number;
  /** Server ids whose data directory ("claim") exists, and those marked as removed. */
  claims: Set<number>;
  marked: Set<number>;
  reclaim: 'Delete' | 'Retain';
}

/** Every local member runs the one revision there is: no joiner is ever outdated here. */
const REVISION = 'local';
const memberPod = (myid: number) => ({
  name: `member-${myid}`,
  myid,
  terminating: false,
  createdAt: new Date(),
  revision: REVISION,
  stuck: false,
  ready: true,
});

const describeStep = (step: ScalingStep) =>
  step.kind === 'wait'
    ? `wait ${step.reason.code}`
    : step.kind === 'raisePodCount' || step.kind === 'lowerPodCount'
      ? `${step.kind} ${step.to}`
      : step.kind === 'addMember' || step.kind === 'removeMember'
        ? `${step.kind} ${step.myid}`
        : step.kind === 'deleteClaim' || step.kind === 'markClaim'
          ? `${step.kind} ${step.claim}`
          : step.kind;

/**
 * Plays the operator: observes the processes as pods, asks the planner for a step and performs
 * it (a process started or stopped for the StatefulSet, a reconfig through the client), until
 * the planner says done. Returns the actions taken (waits left out).
 */
async function driveTo(cluster: Cluster, desired: number): Promise<string[]> {
  const { ensemble } = cluster;
  const actions: string[] = [];
  const clientOptions = () => ({ servers: ensemble.addresses(), superPassword: password, connectTimeoutMs: 20_000 });
  for (let round = 0; round < 400; round++) {
    const running = ensemble.runningIds();
    const health = assessEnsemble(await ensemble.readings(running));
    const step = nextScalingStep({
      cluster: { name: 'member', namespace: 'test' },
      spec: resolveSpec({}),
      clientOnLoopback: false,
      desiredReplicas: desired,
      podCount: cluster.podCount,
      pods: running.map((myid) => memberPod(myid)),
      claims: [...cluster.claims].map((myid) => ({
        name: `claim-${myid}`,
        myid,
        markedRemoved: cluster.marked.has(myid),
      })),
      reclaimPolicy: cluster.reclaim,
      health,
      paused: false,
      stepTimeoutMs: 120_000,
      desiredRevision: REVISION,
      now: new Date(),
    });
    if (step.kind === 'done') return actions;
    if (step.kind === 'wait') {
      await delay(250);
      continue;
    }
    actions.push(describeStep(step));
    const claimId = (name: string) => Number(name.replace('claim-', ''));
    switch (step.kind) {
      case 'raisePodCount':
        cluster.podCount = step.to;
        cluster.claims.add(step.to);
        if (health.committedVoters.includes(step.to)) ensemble.restartMember(step.to);
        else await ensemble.startJoiner(step.to, health.committedVoters);
        break;
      case 'addMember':
        // The planner renders the Kubernetes line; on loopback the member has its own ports.
        await addMember(clientOptions(), ensemble.member(step.myid).serverLine, step.fromVersion);
        break;
      case 'removeMember':
        await removeMember(clientOptions(), step.myid, step.fromVersion);
        break;
      case 'commitWrite':
        await commitWrite(clientOptions());
        break;
      case 'lowerPodCount':
        cluster.podCount = step.to;
        for (const id of running.filter((id) => id > step.to)) await ensemble.stopMember(id);
        break;
      case 'deleteClaim':
        await ensemble.wipe(claimId(step.claim));
        cluster.claims.delete(claimId(step.claim));
        cluster.marked.delete(claimId(step.claim));
        break;
      case 'markClaim':
        cluster.marked.add(claimId(step.claim));
        break;
    }
  }
  throw new Error(`no convergence to ${desired}; actions: ${actions.join(', ')}`);
}

const clusters: LocalEnsemble[] = [];
test.after.always(async () => {
  await Promise.all(clusters.map((c) => c.stop()));
});

test.serial('the planner drives a real ensemble 3 -> 5 -> 3 -> 1 -> 3 with no lost znode (Retain)', async (t) => {
  const ensemble = await LocalEnsemble.start({ size: 3, superPassword: password });
  clusters.push(ensemble);
  const cluster: Cluster = { ensemble, podCount: 3, claims: new Set([1, 2, 3]), marked: new Set(), reclaim: 'Retain' };
  const written: string[] = [];
  const check = async (name: string) => {
    const client = await connectApp(ensemble.addresses());
    try {
      await ensureZnode(client, '/planner');
      await client.create(`/planner/${name}`, name, CREATE_MODE.persistent);
      written.push(name);
      await client.sync('/planner');
      t.deepEqual((await client.getChildren('/planner')).sort(), [...written].sort(), `znodes after ${name}`);
    } finally {
      await client.close();
    }
  };
  const committed = async () => (await readCommittedConfig({ servers: ensemble.addresses() })).voters;

  await check('start');
  t.deepEqual(await driveTo(cluster, 5), ['raisePodCount 4', 'addMember 4', 'raisePodCount 5', 'addMember 5']);
  t.deepEqual(await committed(), [1, 2, 3, 4, 5]);
  await check('at-5');

  const down = await driveTo(cluster, 3);
  t.deepEqual(
    down.filter((a) => !a.startsWith('commitWrite')),
    [
      'removeMember 5',
      'lowerPodCount 4',
      'markClaim claim-5',
      'removeMember 4',
      'lowerPodCount 3',
      'markClaim claim-4',
    ],
  );
  t.deepEqual(await committed(), [1, 2, 3]);
  t.deepEqual(ensemble.runningIds(), [1, 2, 3]);
  await check('at-3');

  await driveTo(cluster, 1);
  t.deepEqual(await committed(), [1]);
  t.deepEqual(ensemble.runningIds(), [1]);
  t.deepEqual([...cluster.marked].sort(), [2, 3, 4, 5]);
  await check('at-1');

  const up = await driveTo(cluster, 3);
  t.deepEqual(up, [
    'deleteClaim claim-2',
    'raisePodCount 2',
    'addMember 2',
    'deleteClaim claim-3',
    'raisePodCount 3',
    'addMember 3',
  ]);
  t.deepEqual(await committed(), [1, 2, 3]);
  await check('at-3-again');
  const health = assessEnsemble(await ensemble.readings());
  t.true(health.fullySynced);
  t.is(health.quorumSize, 3);
});

test.serial('the planner scales down past a down member and repairs an interrupted removal (Delete)', async (t) => {
  const ensemble = await LocalEnsemble.start({ size: 5, superPassword: password });
  clusters.push(ensemble);
  const cluster: Cluster = {
    ensemble,
    podCount: 5,
    claims: new Set([1, 2, 3, 4, 5]),
    marked: new Set(),
    reclaim: 'Delete',
  };
  const committed = async () => (await readCommittedConfig({ servers: ensemble.addresses() })).voters;
  // A voter that is not the leader goes down; 5 -> 3 still keeps a synced majority at each step.
  const leader = (await ensemble.leader()) as number;
  const down = [2, 1].find((id) => id !== leader) as number;
  await ensemble.stopMember(down);
  const actions = await driveTo(cluster, 3);
  t.deepEqual(
    actions.filter((a) => a !== 'commitWrite'),
    [
      'removeMember 5',
      'lowerPodCount 4',
      'deleteClaim claim-5',
      'removeMember 4',
      'lowerPodCount 3',
      'deleteClaim claim-4',
    ],
  );
  t.deepEqual(await committed(), [1, 2, 3]);
  t.deepEqual([...cluster.claims].sort(), [1, 2, 3]);

  // 3 -> 2 would leave one synced voter of two: the planner refuses and says why.
  const health = assessEnsemble(await ensemble.readings());
  const refused = nextScalingStep({
    cluster: { name: 'member', namespace: 'test' },
    spec: resolveSpec({}),
    clientOnLoopback: false,
    desiredReplicas: 2,
    podCount: 3,
    pods: ensemble.runningIds().map((myid) => memberPod(myid)),
    claims: [],
    reclaimPolicy: 'Delete',
    health,
    paused: false,
    stepTimeoutMs: 120_000,
    desiredRevision: REVISION,
    now: new Date(),
  });
  t.like(refused, { kind: 'wait', reason: { code: 'QuorumAtRisk' } });

  // The down member comes back; then the operator "crashes" right after a reconfig that
  // removed server 3: the next run finishes the step without a second reconfig.
  ensemble.restartMember(down);
  await ensemble.waitForQuorum([1, 2, 3]);
  await waitFor('three synced voters', async () => assessEnsemble(await ensemble.readings()).fullySynced);
  const version = (await readCommittedConfig({ servers: ensemble.addresses() })).version;
  await removeMember({ servers: ensemble.addresses(), superPassword: password }, 3, version);
  const repaired = await driveTo(cluster, 2);
  t.deepEqual(
    repaired.filter((a) => a !== 'commitWrite'),
    ['lowerPodCount 2', 'deleteClaim claim-3'],
  );
  t.deepEqual(await committed(), [1, 2]);
  t.deepEqual(ensemble.runningIds(), [1, 2]);
  t.true(assessEnsemble(await ensemble.readings()).fullySynced);
});
