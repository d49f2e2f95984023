/** Parsers and the health model against answers recorded from real ZooKeeper 3.8 and 3.9 (record-answers.sh). */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { assessEnsemble, type MemberReading } from '../../../src/zookeeper/health.js';
import { parseConf, parseMntr, parseSrvr } from '../../../src/zookeeper/readings.js';

const recorded = join(dirname(fileURLToPath(import.meta.url)), 'recorded');
const answer = (version: string, name: string) => readFileSync(join(recorded, version, `${name}.txt`), 'utf8');

/** A member's reading from the recorded answers named `<prefix>-{srvr,mntr,conf}`. */
function reading(version: string, prefix: string, myid: number, mntrFile = `${prefix}-mntr`): MemberReading {
  const srvr = parseSrvr(answer(version, `${prefix}-srvr`));
  const mntr = parseMntr(answer(version, mntrFile));
  const conf = parseConf(answer(version, `${prefix}-conf`));
  return {
    pod: `zk-${myid - 1}`,
    myid,
    ...(srvr ? { srvr } : {}),
    ...(mntr ? { mntr } : {}),
    ...(conf ? { conf } : {}),
  };
}

for (const version of ['3.8.6', '3.9.4']) {
  test(`${version}: srvr gives the mode, zxid and epoch`, (t) => {
    const leader = parseSrvr(answer(version, 'leader-3-srvr'));
    t.like(leader, { version, mode: 'leader', epoch: 1 });
    t.regex(leader?.zxid ?? '', /^0x[0-9a-f]+$/);
    t.is(parseSrvr(answer(version, 'follower-1-srvr'))?.mode, 'follower');
  });

  test(`${version}: mntr on the leader counts learners and synced followers`, (t) => {
    t.like(parseMntr(answer(version, 'leader-3-mntr')), {
      serverState: 'leader',
      peerState: 'leading - broadcast',
      quorumSize: 3,
      learners: 2,
      syncedFollowers: 2,
      syncedNonVotingFollowers: 0,
    });
    t.like(parseMntr(answer(version, 'leader-with-joiner-mntr')), { syncedFollowers: 3, syncedNonVotingFollowers: 1 });
  });

  test(`${version}: conf gives the server id, the committed members and the config version`, (t) => {
    const conf = parseConf(answer(version, 'follower-1-conf'));
    t.is(conf?.serverId, 1);
    t.deepEqual(
      conf?.members.map((m) => [m.myid, m.role]),
      [
        [1, 'participant'],
        [2, 'participant'],
        [3, 'participant'],
      ],
    );
    t.is(conf?.configVersion, '100000000');
  });

  test(`${version}: a member without quorum is not serving, although ruok says imok`, (t) => {
    t.is(answer(version, 'no-quorum-ruok'), 'imok');
    t.is(parseSrvr(answer(version, 'no-quorum-srvr')), undefined);
    t.is(parseMntr(answer(version, 'no-quorum-mntr')), undefined);
    t.is(parseConf(answer(version, 'no-quorum-conf')), undefined);
  });

  test(`${version}: a healthy ensemble has one leader, all voters synced, fault tolerance 1`, (t) => {
    const health = assessEnsemble([
      reading(version, 'follower-1', 1),
      reading(version, 'follower-2', 2),
      reading(version, 'leader-3', 3),
    ]);
    t.deepEqual(health.leader, { pod: 'zk-2', myid: 3 });
    t.like(health, { quorumSize: 3, syncedVoters: 3, faultTolerance: 1, available: true, fullySynced: true });
    t.deepEqual(health.committedVoters, [1, 2, 3]);
    t.is(health.configVersion, '100000000');
    t.deepEqual(health.anomalies, []);
    t.true(health.members.every((m) => m.serving && m.voting && m.synced));
  });

  test(`${version}: a joining member is a synced non-voting follower outside the committed config`, (t) => {
    const health = assessEnsemble([
      reading(version, 'follower-1', 1),
      reading(version, 'follower-2', 2),
      reading(version, 'leader-3', 3, 'leader-with-joiner-mntr'),
      reading(version, 'joiner-4', 4),
    ]);
    t.like(health, { quorumSize: 3, syncedVoters: 3, faultTolerance: 1, available: true });
    t.like(health.members[3], { pod: 'zk-3', serving: true, voting: false, synced: true, role: 'follower' });
    t.deepEqual(
      health.anomalies.map((a) => a.reason),
      ['MemberNotInConfig'],
    );
    t.regex(health.anomalies[0]?.message ?? '', /zk-3 \(server 4\)/);
  });

  test(`${version}: a member left alone has no quorum`, (t) => {
    const health = assessEnsemble([
      reading(version, 'no-quorum', 1),
      { pod: 'zk-1', myid: 2, unreachable: 'connection refused' },
      { pod: 'zk-2', myid: 3, unreachable: 'connection refused' },
    ]);
    t.is(health.leader, undefined);
    t.like(health, { syncedVoters: 0, available: false, fullySynced: false });
    t.like(health.members[0], { reachable: true, serving: false, role: 'unknown', synced: false });
    t.like(health.members[1], { reachable: false, serving: false });
  });
}

test('a follower down: the leader counts one synced follower, fault tolerance 0', (t) => {
  const leader = reading('3.9.4', 'leader-3', 3);
  const health = assessEnsemble([
    reading('3.9.4', 'follower-1', 1),
    { pod: 'zk-1', myid: 2, unreachable: 'timeout' },
    { ...leader, mntr: { ...(leader.mntr ?? { serverState: 'leader' }), syncedFollowers: 1 } },
  ]);
  t.like(health, { syncedVoters: 2, faultTolerance: 0, available: true, fullySynced: false });
});

test('two members claiming to lead and disagreeing configs are anomalies', (t) => {
  const leader = reading('3.9.4', 'leader-3', 3);
  const other = reading('3.9.4', 'follower-1', 1);
  const health = assessEnsemble([
    { ...other, srvr: { version: '3.9.4', zxid: '0x200000000', mode: 'leader', epoch: 2 } },
    { ...leader, conf: { ...(leader.conf ?? { serverId: 3, members: [] }), configVersion: '100000008' } },
  ]);
  t.deepEqual(
    health.anomalies.map((a) => a.reason),
    ['MultipleLeaders', 'ConfigVersionMismatch'],
  );
  t.false(health.available, 'no single leader');
});
