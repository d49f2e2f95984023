/**
 * What ZooKeeper does when a member's `server.N` line changes by reconfig, on a real 3-member
 * ensemble on loopback with a client writing throughout: the evidence the port-move planner is
 * built on. One ensemble for the whole file, changed step by step (the tests run in order).
 *
 * The reconfig guide says an incremental reconfig that "adds" an existing server id with a new
 * line modifies that member. These tests check the consequences the operator relies on: the
 * moved member rebinds its client port and follows on its new quorum/election ports without a
 * restart and without an election; moving the leader costs exactly one election; a moved member
 * restarts from the config files ZooKeeper rewrote; and every acknowledged write survives.
 */
import test from 'ava';
import { askFourLetterWord } from '../../src/zookeeper/four-letter-word.js';
import { assessEnsemble } from '../../src/zookeeper/health.js';
import { parseSrvr } from '../../src/zookeeper/readings.js';
import {
  type ConfigMember,
  moveMember,
  parseServerLine,
  type ReconfigClientOptions,
  readCommittedConfig,
  sameServerLine,
} from '../../src/zookeeper/reconfig-client.js';
import { generateSuperPassword } from '../../src/zookeeper/super-digest.js';
import { LocalEnsemble, waitFor } from '../support/local-ensemble.js';
import { type WriteReport, ZnodeWriter } from '../support/znode-writer.js';

const password = generateSuperPassword();
let ensemble: LocalEnsemble | undefined;
let writer: ZnodeWriter | undefined;
let firstEpoch = 0;

const zk = () => {
  if (ensemble === undefined) throw new Error('the ensemble did not start');
  return ensemble;
};

/** Connects through the members other than `myid`: the moved member drops its clients as it rebinds. */
const through = (ids: number[]): ReconfigClientOptions => ({
  servers: zk().addresses(ids),
  superPassword: password,
  connectTimeoutMs: 20_000,
});

const others = (myid: number) =>
  zk()
    .runningIds()
    .filter((id) => id !== myid);

async function leaderEpoch(): Promise<{ leader: number; epoch: number }> {
  return waitFor('a leader to read the epoch from', async () => {
    for (const id of zk().runningIds()) {
      const srvr = parseSrvr(
        await zk()
          .ask(id, 'srvr')
          .catch(() => ''),
      );
      if (srvr?.mode === 'leader') return { leader: id, epoch: srvr.epoch };
    }
    return undefined;
  });
}

/** Every member serves on the port it was recorded at, one leader, every voter synced. */
async function waitUntilFullySynced(): Promise<void> {
  await waitFor('every member serving on its recorded port with every voter synced', async () => {
    const health = assessEnsemble(await zk().readings());
    return health.available && health.fullySynced && health.quorumSize === 3 && health.members.every((m) => m.serving);
  });
}

/** Moves `myid` to fresh ports (and `host`), committed by one conditional reconfig. */
async function move(myid: number, host?: string): Promise<ConfigMember> {
  const moved = await zk().freshAddresses(myid, host);
  const before = await readCommittedConfig(through(others(myid)));
  const result = await moveMember(through(others(myid)), moved.serverLine, before.version);
  zk().record(moved);
  const committed = result.config.members.find((m) => m.myid === myid);
  if (committed === undefined) throw new Error(`server ${myid} is missing from the config after its move`);
  return committed;
}

const refuses = (port: number) =>
  askFourLetterWord('127.0.0.1', port, 'ruok', 2_000).then(
    () => false,
    () => true,
  );

test.before(async () => {
  ensemble = await LocalEnsemble.start({ size: 3, superPassword: password });
  firstEpoch = (await leaderEpoch()).epoch;
  writer = await ZnodeWriter.start(async () => zk().addresses().join(','), '/moves');
});

test.after.always(async () => {
  await writer?.stop().catch(() => undefined);
  await ensemble?.stop();
});

test.serial(
  'a follower moved to new client, quorum and election ports rebinds and syncs without an election',
  async (t) => {
    const { leader, epoch } = await leaderEpoch();
    for (const follower of others(leader)) {
      const oldClientPort = zk().member(follower).clientPort;
      const committed = await move(follower);
      t.true(sameServerLine(committed, parseServerLine(zk().member(follower).serverLine)), committed.line);
      await waitUntilFullySynced();
      t.true(
        await refuses(oldClientPort),
        `server ${follower} no longer listens on its old client port ${oldClientPort}`,
      );
    }
    t.deepEqual(await leaderEpoch(), { leader, epoch }, 'the same leader in the same epoch: no election');
  },
);

test.serial(
  'the leader moved last costs exactly one election, and the committed config shows every new line',
  async (t) => {
    const { leader, epoch } = await leaderEpoch();
    const oldClientPort = zk().member(leader).clientPort;
    await move(leader);
    await waitUntilFullySynced();
    const after = await leaderEpoch();
    t.is(after.epoch, epoch + 1, 'one election: the followers elect again when the leader’s quorum address changes');
    t.true(await refuses(oldClientPort));
    const config = await readCommittedConfig(through(zk().runningIds()));
    for (const id of [1, 2, 3]) {
      const line = config.members.find((m) => m.myid === id);
      t.true(line !== undefined && sameServerLine(line, parseServerLine(zk().member(id).serverLine)), `server ${id}`);
    }
  },
);

test.serial('a moved member restarts on its new ports from the config files ZooKeeper rewrote', async (t) => {
  const { leader, epoch } = await leaderEpoch();
  const follower = others(leader)[0] as number;
  await zk().stopMember(follower);
  zk().restartMember(follower);
  await waitUntilFullySynced();
  t.deepEqual(await leaderEpoch(), { leader, epoch }, 'a follower restart costs no election');
});

test.serial('a follower moved to a new host name (what a clusterDomain change does) stays in the quorum', async (t) => {
  const { leader, epoch } = await leaderEpoch();
  const follower = others(leader)[0] as number;
  const committed = await move(follower, 'localhost');
  t.is(committed.host, 'localhost');
  await waitUntilFullySynced();
  t.deepEqual(await leaderEpoch(), { leader, epoch });
});

test.serial(
  'ZooKeeper commits a move to a host name that does not resolve: nothing checks names before the commit',
  async (t) => {
    const { leader, epoch } = await leaderEpoch();
    const follower = others(leader)[0] as number;
    const committed = await move(follower, 'zk-unresolvable.invalid');
    t.is(committed.host, 'zk-unresolvable.invalid', 'committed with a name no member can resolve');
    // And every reading looks healthy: the follower keeps following (it connects out to the
    // leader), so the damage shows only at the next election, when no peer can reach it.
    await waitUntilFullySynced();
    // Moving it back to a name that resolves repairs it, without an election.
    await move(follower);
    await waitUntilFullySynced();
    t.deepEqual(await leaderEpoch(), { leader, epoch });
  },
);

test.serial('every acknowledged write survives, with at most one election since the start', async (t) => {
  const report: WriteReport = await (writer as ZnodeWriter).stop();
  t.true(report.acknowledged > 0);
  t.deepEqual(report.lost, []);
  t.is((await leaderEpoch()).epoch, firstEpoch + 1);
  t.log(`writes acknowledged ${report.acknowledged}, failed ${report.failed}, longest gap ${report.longestGapMs} ms`);
});
