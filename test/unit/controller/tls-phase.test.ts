import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import test from 'ava';
import fc from 'fast-check';
import { resolveSpec } from '../../../src/api/defaults.js';
import {
  CLIENT_TLS_ANNOTATION,
  PLAINTEXT,
  QUORUM_TLS_ANNOTATION,
  QUORUM_TLS_PHASES,
  type QuorumTlsPhase,
  type TlsPhase,
} from '../../../src/api/tls-phases.js';
import {
  type MemberTlsEvidence,
  nextRung,
  nextTlsPhase,
  observedTlsPhase,
  planTlsPhase,
  podTlsPhase,
  servesWhole,
  templateEvidence,
  tlsEvidence,
} from '../../../src/controller/tls-phase.js';
import { assessEnsemble } from '../../../src/zookeeper/health.js';
import { parseServerLine } from '../../../src/zookeeper/reconfig-client.js';
import { aCluster, healthyReadings } from '../../support/builders.js';

const member = (
  quorum: QuorumTlsPhase,
  client: MemberTlsEvidence['client'] = 'plaintext',
  loopbackClient: boolean | undefined = false,
): MemberTlsEvidence => ({ quorum, client, loopbackClient });

const ON: TlsPhase = { quorum: 'tls-only', client: 'tls-only' };

test('nextRung: one rung towards the target from where every member stands; a roll under way stays on its newer rung', (t) => {
  const rows: [target: number, observed: number[], expected: number][] = [
    [3, [], 3],
    [3, [0, 0, 0], 1],
    [3, [0, 1, 1], 1],
    [3, [1, 1, 1], 2],
    [3, [2, 2], 3],
    [3, [3, 3], 3],
    [0, [3, 3], 2],
    [0, [2, 3], 2],
    [0, [1, 1], 0],
    // Turned back in the middle of a roll: back to the older rung, which every member neighbours.
    [0, [1, 2, 2], 1],
    [3, [2, 1, 1], 2],
    // Two rungs apart (a pod replaced by hand): meet between them.
    [0, [0, 2], 1],
    [3, [0, 2], 1],
  ];
  for (const [target, observed, expected] of rows) {
    t.is(nextRung(target, observed), expected, `target ${target}, members on ${observed.join(',')}`);
  }
});

test('nextRung: the rung rendered is never more than one from any member whose rungs are at most two apart, and reaches the target', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: 0, max: 3 }),
      fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 9 }),
      fc.boolean(),
      (target, base, offsets, mayAdvance) => {
        const observed = offsets.map((offset) => Math.min(3, base + offset));
        const next = nextRung(target, observed, mayAdvance);
        if (!observed.every((rung) => Math.abs(rung - next) <= 1)) return false;
        // When every member stands together, the next rung is one closer to the target (or the target).
        const together = observed.every((rung) => rung === observed[0]);
        const from = observed[0] ?? 0;
        return !together || next === (mayAdvance ? from + Math.sign(target - from) : from);
      },
    ),
  );
  t.pass('checked by fast-check');
});

test('a plaintext ensemble climbs every rung of both ladders, one roll (or round of moves) per rung', (t) => {
  let members = [member('plaintext'), member('plaintext'), member('plaintext')];
  const visited: string[] = [];
  for (let round = 0; round < 10; round++) {
    const next = nextTlsPhase(ON, members);
    visited.push(`${next.quorum}/${next.client}`);
    if (next.quorum === 'tls-only' && next.client === 'tls-only' && observedTlsPhase(members).client === 'tls-only') {
      break;
    }
    // The roll (and the moves) bring every member to the rendered rung.
    members = members.map(() =>
      member(next.quorum, next.client === 'tls-only' ? 'secure-port' : next.client, next.client === 'tls-only'),
    );
  }
  t.deepEqual(visited, ['accepting-tls/secure-port', 'sending-tls/tls-only', 'tls-only/tls-only']);
});

test('turned off, the ensemble walks down the same ladders, moving plaintext clients back before the secure port closes', (t) => {
  let members = [1, 2, 3].map(() => member('tls-only', 'secure-port', true));
  const visited: string[] = [];
  for (let round = 0; round < 10; round++) {
    const next = nextTlsPhase(PLAINTEXT, members);
    visited.push(`${next.quorum}/${next.client}`);
    if (next.quorum === 'plaintext' && next.client === 'plaintext') break;
    members = members.map(() =>
      member(next.quorum, next.client === 'tls-only' ? 'secure-port' : next.client, next.client === 'tls-only'),
    );
  }
  t.deepEqual(visited, ['sending-tls/secure-port', 'accepting-tls/plaintext', 'plaintext/plaintext']);
});

test('a member whose committed line is unknown is planned as if on loopback, so the secure port never closes under it', (t) => {
  const unknown: MemberTlsEvidence[] = [
    { quorum: 'plaintext', client: 'secure-port', loopbackClient: undefined },
    member('plaintext', 'secure-port', false),
  ];
  t.is(nextTlsPhase(PLAINTEXT, unknown).client, 'secure-port');
  t.is(observedTlsPhase(unknown).client, 'secure-port', 'status reports what it knows');
  t.is(nextTlsPhase(PLAINTEXT, [member('plaintext', 'secure-port', false)]).client, 'plaintext');
});

test('a new cluster starts on its target; status reports the lowest rung any member runs', (t) => {
  t.deepEqual(nextTlsPhase(ON, []), ON);
  t.deepEqual(observedTlsPhase([]), PLAINTEXT);
  t.deepEqual(
    observedTlsPhase([member('tls-only', 'secure-port', true), member('sending-tls', 'secure-port', false)]),
    {
      quorum: 'sending-tls',
      client: 'secure-port',
    },
  );
});

const pod = (name: string, annotations: Record<string, string> = {}): V1Pod => ({ metadata: { name, annotations } });

test('evidence: the pod annotations say the rungs a pod runs, the committed line whether its plaintext port is on loopback', (t) => {
  for (const quorum of QUORUM_TLS_PHASES) {
    t.is(podTlsPhase(pod('zk-0', quorum === 'plaintext' ? {} : { [QUORUM_TLS_ANNOTATION]: quorum })).quorum, quorum);
  }
  t.deepEqual(podTlsPhase(pod('zk-0', { [QUORUM_TLS_ANNOTATION]: 'bogus', [CLIENT_TLS_ANNOTATION]: 'tls-only' })), {
    quorum: 'plaintext',
    client: 'plaintext',
  });
  const committed = [
    parseServerLine('server.1=zk-0.zk-headless.ns.svc.cluster.local:2888:3888:participant;127.0.0.1:2181'),
    parseServerLine('server.2=zk-1.zk-headless.ns.svc.cluster.local:2888:3888:participant;0.0.0.0:2181'),
  ];
  const secure = { [CLIENT_TLS_ANNOTATION]: 'secure-port' };
  t.deepEqual(
    tlsEvidence('zk', [pod('zk-0', secure), pod('zk-1', secure), pod('zk-2', secure), pod('other-0')], committed),
    [
      { quorum: 'plaintext', client: 'secure-port', loopbackClient: true },
      { quorum: 'plaintext', client: 'secure-port', loopbackClient: false },
      { quorum: 'plaintext', client: 'secure-port', loopbackClient: undefined },
    ],
  );
});

test('a new rung starts only while the ensemble serves whole; a roll under way may still finish or turn back', (t) => {
  t.is(nextRung(3, [1, 1, 1], false), 1, 'holds: the rung just reached is not serving whole yet');
  t.is(nextRung(3, [1, 2, 2], false), 2, 'the roll to rung 2 goes on');
  t.is(nextRung(0, [1, 2, 2], false), 1, 'or turns back');
  t.is(nextRung(3, [2, 0, 0], false), 1, 'two rungs apart (a line unknown, planned a rung up): they meet between');
  t.is(nextRung(3, [1, 1, 1], true), 2);
  t.deepEqual(nextTlsPhase(ON, [member('accepting-tls', 'secure-port')], false), {
    quorum: 'accepting-tls',
    client: 'secure-port',
  });
});

test('the live StatefulSet template counts as a member: a pod the roll evicted comes back from it, so the ladder never slips back while it is away', (t) => {
  const template = (annotations: Record<string, string>): V1StatefulSet => ({
    spec: { selector: {}, serviceName: 'zk-headless', template: { metadata: { annotations } } },
  });
  const rung1 = templateEvidence([
    template({ [QUORUM_TLS_ANNOTATION]: 'accepting-tls', [CLIENT_TLS_ANNOTATION]: 'secure-port' }),
    undefined,
  ]);
  t.deepEqual(rung1, [{ quorum: 'accepting-tls', client: 'secure-port', loopbackClient: false }]);
  // zk-1 was evicted (rung 1 next), zk-0 and zk-2 still on plaintext, the ensemble short of one member.
  const evidence = [member('plaintext'), member('plaintext'), ...rung1];
  t.deepEqual(nextTlsPhase(ON, evidence, false), { quorum: 'accepting-tls', client: 'secure-port' });
  t.deepEqual(nextTlsPhase(ON, [member('plaintext'), member('plaintext')], false), PLAINTEXT, 'without it: back');
});

test('the ensemble serves whole only while every committed member serves in sync: a member the roll evicted is missing', (t) => {
  t.true(servesWhole(assessEnsemble(healthyReadings(3))));
  t.false(servesWhole(assessEnsemble(healthyReadings(3).filter((r) => r.myid !== 2))), 'server 2 away');
  t.false(servesWhole(assessEnsemble([...healthyReadings(3).slice(0, 2), { pod: 'example-2', myid: 3 }])));
  t.false(servesWhole(undefined));
});

test('with no pod and no reading, lines the ConfigMap recorded on loopback keep the TLS client port: a cluster whose pods all went never locks itself out', (t) => {
  const line = (myid: number) =>
    `server.${myid}=zk-${myid - 1}.zk-headless.ns.svc.cluster.local:2888:3888:participant;127.0.0.1:2182\n`;
  const cluster = aCluster({ tls: {} }, { name: 'zk', namespace: 'ns' });
  const planned = planTlsPhase({
    cluster,
    spec: resolveSpec(cluster.spec),
    pods: [],
    health: undefined,
    live: { configMap: { data: { 'zoo.cfg.dynamic': [1, 2, 3].map(line).join('') } } },
  });
  t.is(planned.next.client, 'secure-port');
  t.is(planned.next.quorum, 'plaintext');
});
