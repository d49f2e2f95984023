/**
 * The member-move edge: where the operator reads each member (its committed client port, then
 * spec's), which servers its reconfig sessions use, which members are rendered as waiting to
 * move, and how a refused move is reported. ZooKeeper and the caches are fakes here; the real
 * thing is test/integration/member-move.test.ts and test/e2e/port-change.test.ts.
 */
import type { V1Pod } from '@kubernetes/client-node';
import test from 'ava';
import { resolveSpec } from '../../../src/api/defaults.js';
import { CLIENT_TLS_ANNOTATION } from '../../../src/api/tls-phases.js';
import type { ZooKeeperClusterSpec } from '../../../src/api/types.js';
import type { ReconcilerDependencies } from '../../../src/controller/dependencies.js';
import { type MoveStep, pendingMovesOf } from '../../../src/controller/member-move.js';
import { readMembersWhereTheyListen, sessionServers, takeMoveStep } from '../../../src/controller/member-move-act.js';
import type { ClusterSnapshot } from '../../../src/controller/snapshot.js';
import type { ReconcileContext } from '../../../src/runtime/controller.js';
import { MemoryLogger } from '../../../src/runtime/logging.js';
import type { MemberAddress } from '../../../src/zookeeper/ensemble-reader.js';
import { assessEnsemble, type EnsembleHealth, type MemberReading } from '../../../src/zookeeper/health.js';
import { ReconfigError } from '../../../src/zookeeper/reconfig-client.js';
import { aCluster } from '../../support/builders.js';

const NEW_PORTS: ZooKeeperClusterSpec['ports'] = { client: 2281, quorum: 2889, election: 3889 };
const cluster = aCluster({ ports: NEW_PORTS }, { name: 'zk', namespace: 'apps' });
const spec = resolveSpec(cluster.spec);
const host = (myid: number) => `zk-${myid - 1}.zk-headless.apps.svc.cluster.local`;
const oldLine = (myid: number) => `server.${myid}=${host(myid)}:2888:3888:participant;0.0.0.0:2181`;
const newLine = (myid: number) => `server.${myid}=${host(myid)}:2889:3889:participant;0.0.0.0:2281`;

const pod = (myid: number): V1Pod => ({
  metadata: { name: `zk-${myid - 1}`, namespace: 'apps', uid: `uid-${myid}` },
  status: { podIP: `10.0.0.${myid}` },
});
const pods = [1, 2, 3].map(pod);
const snapshotWith = (health: EnsembleHealth): ClusterSnapshot => ({
  cluster,
  spec,
  live: {},
  pods,
  claims: [],
  health,
  now: new Date('2026-12-02T05:00:00Z'),
});

/** Readings of a healthy ensemble led by server 3 whose committed lines are `lines` (by server id). */
function readings(lines: (myid: number) => string): MemberReading[] {
  const conf = {
    serverId: 0,
    members: [1, 2, 3].map((myid) => ({
      myid,
      host: host(myid),
      role: 'participant' as const,
      line: lines(myid),
    })),
    configVersion: '100000004',
  };
  return [1, 2, 3].map((myid) => ({
    pod: `zk-${myid - 1}`,
    myid,
    srvr: { version: '3.9.4', mode: myid === 3 ? 'leader' : 'follower', zxid: '0x100000005', epoch: 1 },
    mntr:
      myid === 3
        ? {
            serverState: 'leader',
            peerState: 'leading - broadcast',
            quorumSize: 3,
            syncedFollowers: 2,
            syncedNonVotingFollowers: 0,
          }
        : { serverState: 'follower', peerState: 'following - broadcast' },
    conf: { ...conf, serverId: myid },
  }));
}

/** Member 1 moved already; 2 and 3 still listen on the old ports. */
const halfway = (myid: number) => (myid === 1 ? newLine(myid) : oldLine(myid));

interface Fakes {
  deps: ReconcilerDependencies;
  asked: string[];
  moves: string[];
  events: string[];
}

/** `listening`: the client port each member answers on. */
function fakes(options: { listening: Record<number, number>; refuse?: ReconfigError }): Fakes {
  const asked: string[] = [];
  const moves: string[] = [];
  const events: string[] = [];
  const all = readings(halfway);
  const deps = {
    cache: {
      cluster: () => cluster,
      owned: () => undefined,
      memberPods: () => pods,
      claims: () => [],
    },
    ensemble: {
      read: async (members: readonly { pod: string; myid: number }[], ports: { client: number }) =>
        members.map((member) => {
          asked.push(`${member.myid}@${ports.client}`);
          return options.listening[member.myid] === ports.client
            ? (all.find((r) => r.myid === member.myid) as MemberReading)
            : { pod: member.pod, myid: member.myid, unreachable: 'connection refused' };
        }),
    },
    membership: (servers: readonly string[]) => ({
      move: async (serverLine: string, fromVersion: string) => {
        if (options.refuse !== undefined) throw options.refuse;
        moves.push(`${serverLine} from ${fromVersion} via ${servers.join(',')}`);
        return {
          config: { members: [], voters: [], version: fromVersion },
          alreadyApplied: false,
          connectionLost: false,
        };
      },
    }),
    events: {
      record: async (_target: unknown, type: string, reason: string, message: string) => {
        events.push(`${type} ${reason}: ${message}`);
        return true;
      },
    },
    now: () => new Date('2026-12-02T05:00:00Z'),
  } as unknown as ReconcilerDependencies;
  return { deps, asked, moves, events };
}

const ctx: ReconcileContext = {
  key: 'apps/zk',
  reconcileId: 'r',
  logger: new MemoryLogger(),
  signal: new AbortController().signal,
};

test('each member is read at the client port its recorded line names; one that moved since, at spec’s', async (t) => {
  const recorded = [1, 2, 3].map((id) => `${oldLine(id)}\n`).join('');
  const { deps, asked } = fakes({ listening: { 1: 2281, 2: 2181, 3: 2181 } });
  const health = (await readMembersWhereTheyListen(deps, 'zk', spec, pods, recorded, false)) as EnsembleHealth;
  t.deepEqual(asked.sort(), ['1@2181', '1@2281', '2@2181', '3@2181']);
  t.true(health.fullySynced);
  t.is(health.leader?.pod, 'zk-2');
});

test('a member recorded on spec’s port is read there once', async (t) => {
  const recorded = [1, 2, 3].map((id) => `${newLine(id)}\n`).join('');
  const { deps, asked } = fakes({ listening: { 1: 2281, 2: 2281, 3: 2281 } });
  await readMembersWhereTheyListen(deps, 'zk', spec, pods, recorded, false);
  t.deepEqual(asked.sort(), ['1@2281', '2@2281', '3@2281']);
});

test('members not yet moved are pending with their committed line and ports; moved ones are not', (t) => {
  const health = assessEnsemble(readings(halfway));
  t.deepEqual(
    pendingMovesOf(cluster, spec, health, undefined, false),
    new Map([
      [2, { line: oldLine(2), client: 2181, clientOnLoopback: false, quorum: 2888, election: 3888 }],
      [3, { line: oldLine(3), client: 2181, clientOnLoopback: false, quorum: 2888, election: 3888 }],
    ]),
  );
  t.is(pendingMovesOf(cluster, spec, assessEnsemble(readings(newLine)), undefined, false), undefined);
});

test('with no member reporting the committed config, the lines the live ConfigMap records stand for it', (t) => {
  const recorded = [1, 2, 3].map((id) => `${halfway(id)}\n`).join('');
  const electing = assessEnsemble([1, 2, 3].map((myid) => ({ pod: `zk-${myid - 1}`, myid })));
  t.deepEqual([...(pendingMovesOf(cluster, spec, electing, recorded, false)?.keys() ?? [])], [2, 3]);
  t.is(pendingMovesOf(cluster, spec, electing, undefined, false), undefined, 'nothing recorded: nothing pending');
});

test('reconfig sessions reach each serving member at its committed client port', (t) => {
  const health = assessEnsemble(readings(halfway));
  const snapshot = snapshotWith(health);
  t.deepEqual(sessionServers(snapshot, health), ['10.0.0.1:2281', '10.0.0.2:2181', '10.0.0.3:2181']);
  t.deepEqual(sessionServers(snapshot, health, 2), ['10.0.0.1:2281', '10.0.0.3:2181']);
});

const moveOf2: MoveStep = {
  kind: 'move',
  myid: 2,
  serverLine: newLine(2),
  fromVersion: '100000004',
  reason: { code: 'MovingMember', message: 'moving member 2 (zk-1) by reconfig: client port 2181 -> 2281' },
};

test('a move is one conditional reconfig through the other members, reported by an Event', async (t) => {
  const { deps, moves, events } = fakes({ listening: {} });
  const taken = await takeMoveStep(deps, snapshotWith(assessEnsemble(readings(halfway))), moveOf2, 'pw', ctx);
  t.is(taken, moveOf2);
  t.deepEqual(moves, [`${newLine(2)} from 100000004 via 10.0.0.1:2281,10.0.0.3:2181`]);
  t.deepEqual(events, ['Normal MovingMember: moving member 2 (zk-1) by reconfig: client port 2181 -> 2281']);
});

test('a refused move becomes a wait that says why, with a Warning Event', async (t) => {
  const refuse = new ReconfigError('NewConfigNoQuorum', 'moving server 2 was refused: no quorum of the new config');
  const { deps, events } = fakes({ listening: {}, refuse });
  const taken = await takeMoveStep(deps, snapshotWith(assessEnsemble(readings(halfway))), moveOf2, 'pw', ctx);
  t.deepEqual(taken, {
    kind: 'wait',
    reason: {
      code: 'MoveRefused',
      message: 'moving member 2 failed: moving server 2 was refused: no quorum of the new config',
    },
  });
  t.deepEqual(events, [
    'Warning MoveRefused: moving member 2 failed: moving server 2 was refused: no quorum of the new config',
  ]);
});

test('a member serving clients over TLS is read at its TLS port with the operator’s certificate, and not at all without one: never over plaintext', async (t) => {
  const secure: V1Pod = {
    ...pod(2),
    metadata: { ...pod(2).metadata, annotations: { [CLIENT_TLS_ANNOTATION]: 'secure-port' } },
  };
  const withTls = [pod(1), secure, pod(3)];
  const recorded = [1, 2, 3].map((id) => `${newLine(id)}\n`).join('');
  const credentials = { ca: 'ca', cert: 'cert', key: 'key' };
  const seen: string[] = [];
  const { deps } = fakes({ listening: { 1: 2281, 2: 2281, 3: 2281 } });
  const reader = {
    read: async (members: readonly MemberAddress[], ports: { client: number }) =>
      members.map((member): MemberReading => {
        seen.push(
          member.tls === undefined ? `${member.myid}@${ports.client}` : `${member.myid}@tls:${member.tls.port}`,
        );
        return { pod: member.pod, myid: member.myid, unreachable: 'not asked' };
      }),
  };
  const read = (operatorTls?: typeof credentials) =>
    readMembersWhereTheyListen({ ...deps, ensemble: reader }, 'zk', spec, withTls, recorded, false, operatorTls);
  await read(credentials);
  t.deepEqual(seen.sort(), ['1@2281', '2@tls:2281', '3@2281']);
  seen.length = 0;
  const health = await read();
  t.deepEqual(seen.sort(), ['1@2281', '3@2281'], 'zk-1 is asked nowhere');
  t.false(health?.members.find((m) => m.myid === 2)?.reachable ?? true, 'reported as unreadable');
});
