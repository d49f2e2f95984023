import test from 'ava';
import fc from 'fast-check';
import {
  type DataHolder,
  ensembleFormation,
  type FormationInput,
  holdersToMarkFormed,
} from '../../../src/controller/formation.js';
import type { EnsembleHealth, MemberHealth } from '../../../src/zookeeper/health.js';

const member = (myid: number, state: 'down' | 'looking' | 'follower' | 'leader'): MemberHealth => ({
  pod: `zk-${myid - 1}`,
  myid,
  reachable: state !== 'down',
  serving: state === 'follower' || state === 'leader',
  role: state === 'leader' || state === 'follower' ? state : 'unknown',
  voting: true,
  synced: state === 'follower' || state === 'leader',
});

const health = (states: ('down' | 'looking' | 'follower' | 'leader')[], configVersion?: string): EnsembleHealth => {
  const members = states.map((state, index) => member(index + 1, state));
  const leader = members.find((m) => m.role === 'leader');
  return {
    members,
    ...(leader === undefined ? {} : { leader: { pod: leader.pod, myid: leader.myid } }),
    quorumSize: states.length,
    syncedVoters: members.filter((m) => m.synced).length,
    faultTolerance: 0,
    committedVoters: [],
    committedObservers: [],
    syncedObservers: 0,
    committedMembers: [],
    ...(configVersion === undefined ? {} : { configVersion }),
    available: leader !== undefined,
    fullySynced: false,
    anomalies: [],
  };
};

const created = new Date('2026-12-01T10:00:00Z');
const before = new Date('2026-11-30T10:00:00Z');
const after = new Date('2026-12-01T10:00:05Z');
const claim = (myid: number, extra: Partial<DataHolder> = {}): DataHolder => ({
  kind: 'claim',
  name: `data-zk-${myid - 1}`,
  myid,
  createdAt: after,
  ...extra,
});

const cases: { name: string; input: FormationInput; formed: boolean; evidence?: RegExp }[] = [
  {
    name: 'a new cluster: nothing serves, claims made after the resource, none annotated',
    input: { health: health(['looking', 'looking', 'down']), holders: [claim(1), claim(2)], clusterCreatedAt: created },
    formed: false,
  },
  {
    name: 'nothing read and no claims (ephemeral storage, first reconcile)',
    input: { health: undefined, holders: [], clusterCreatedAt: created },
    formed: false,
  },
  {
    name: 'one member serves, whatever the status says',
    input: { health: health(['down', 'follower', 'looking']), holders: [], clusterCreatedAt: created },
    formed: true,
    evidence: /server 2 \(zk-1\) serves clients/,
  },
  {
    name: 're-created over retained claims, two of them deleted by hand: the survivor is annotated',
    input: {
      health: health(['looking', 'looking', 'looking']),
      holders: [claim(1), claim(2), claim(3, { syncedInConfigVersion: '100000000' })],
      clusterCreatedAt: created,
    },
    formed: true,
    evidence: /claim data-zk-2 holds data of server 3, seen synced in config version 100000000/,
  },
  {
    name: 'a claim older than the resource (formed before claims were annotated)',
    input: {
      health: undefined,
      holders: [claim(1), claim(2, { createdAt: before })],
      clusterCreatedAt: created,
    },
    formed: true,
    evidence: /claim data-zk-1 is older than the cluster resource/,
  },
  {
    name: 'a claim from the same second as the resource is not older',
    input: { health: undefined, holders: [claim(1, { createdAt: created })], clusterCreatedAt: created },
    formed: false,
  },
  {
    name: 'no creation time known: only ZooKeeper and annotations count',
    input: { health: undefined, holders: [claim(1, { createdAt: before })] },
    formed: false,
  },
];

for (const c of cases) {
  test(`formation: ${c.name}`, (t) => {
    const result = ensembleFormation(c.input);
    t.is(result.formed, c.formed);
    if (c.evidence !== undefined && result.formed) t.regex(result.evidence, c.evidence);
  });
}

test('property: any one piece of evidence is enough, and adding claims or readings never un-forms', (t) => {
  const state = fc.constantFrom('down' as const, 'looking' as const, 'follower' as const, 'leader' as const);
  const arbitraryClaim = fc.record({
    myid: fc.integer({ min: 1, max: 7 }),
    annotated: fc.boolean(),
    older: fc.boolean(),
  });
  fc.assert(
    fc.property(fc.array(state, { maxLength: 5 }), fc.array(arbitraryClaim, { maxLength: 5 }), (states, claims) => {
      const input: FormationInput = {
        health: health(states),
        holders: claims.map((c) =>
          claim(c.myid, {
            createdAt: c.older ? before : after,
            ...(c.annotated ? { syncedInConfigVersion: '100000000' } : {}),
          }),
        ),
        clusterCreatedAt: created,
      };
      const expected =
        states.some((s) => s === 'follower' || s === 'leader') || claims.some((c) => c.annotated || c.older);
      t.is(ensembleFormation(input).formed, expected);
      if (expected) {
        t.true(ensembleFormation({ ...input, holders: [...input.holders, claim(9)] }).formed);
      }
    }),
  );
});

test('claims of synced members are marked once, with the committed config version', (t) => {
  const claims = [claim(1), claim(2, { syncedInConfigVersion: '100000000' }), claim(3)];
  t.deepEqual(holdersToMarkFormed(health(['leader', 'follower', 'looking'], '100000000'), claims), [
    { holder: claims[0] as DataHolder, configVersion: '100000000' },
  ]);
});

test('nothing is marked without a leader or a committed config version', (t) => {
  const claims = [claim(1), claim(2)];
  t.deepEqual(holdersToMarkFormed(health(['follower', 'follower']), claims), []);
  t.deepEqual(holdersToMarkFormed(health(['leader', 'follower']), claims), []);
  t.deepEqual(holdersToMarkFormed(undefined, claims), []);
});
