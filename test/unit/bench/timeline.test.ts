import test from 'ava';
import fc from 'fast-check';
import {
  betweenStepsReasons,
  epochChanges,
  explainGap,
  floorMs,
  type MemberSample,
  memberRestarts,
  percentile,
  ratio,
  rollBreakdown,
  type Sample,
} from '../../../bench/cluster/timeline.js';

/** A member sample: `zk-<n>` with incarnation `uid`, serving as `mode` in `epoch` unless told otherwise. */
const member = (pod: string, uid: string, overrides: Partial<MemberSample> = {}): MemberSample => ({
  pod,
  uid,
  terminating: false,
  ready: true,
  mode: 'follower',
  epoch: 1,
  ...overrides,
});
const down = (pod: string, uid: string): MemberSample => ({
  pod,
  uid,
  terminating: false,
  ready: false,
});
const at = (atMs: number, ...members: MemberSample[]): Sample => ({ atMs, members });

test('a restart runs from the old incarnation terminating to the new one serving', (t) => {
  const samples = [
    at(0, member('zk-0', 'a'), member('zk-1', 'b', { mode: 'leader' })),
    at(250, member('zk-0', 'a', { terminating: true }), member('zk-1', 'b', { mode: 'leader' })),
    at(500, member('zk-1', 'b', { mode: 'leader' })),
    at(750, down('zk-0', 'a2'), member('zk-1', 'b', { mode: 'leader' })),
    at(1000, member('zk-0', 'a2'), member('zk-1', 'b', { mode: 'leader' })),
  ];
  t.deepEqual(memberRestarts(samples), [{ pod: 'zk-0', stoppedAtMs: 250, syncedAtMs: 1000, readyAtMs: 1000 }]);
});

test('a restart records when its new pod was first Ready, which trails serving', (t) => {
  const samples = [
    at(0, member('zk-0', 'a')),
    at(100, member('zk-0', 'a', { terminating: true })),
    at(200, member('zk-0', 'a2', { ready: false })),
    at(300, member('zk-0', 'a2', { ready: false })),
    at(400, member('zk-0', 'a2')),
  ];
  t.deepEqual(memberRestarts(samples), [{ pod: 'zk-0', stoppedAtMs: 100, syncedAtMs: 200, readyAtMs: 400 }]);
});

test('a roll breaks down into the wait for the first stop, the floor, readiness lag and the time between steps', (t) => {
  t.deepEqual(
    rollBreakdown(1000, [
      { pod: 'zk-1', stoppedAtMs: 6000, syncedAtMs: 9000, readyAtMs: 9500 },
      { pod: 'zk-2', stoppedAtMs: 1500, syncedAtMs: 4000, readyAtMs: 5000 },
      { pod: 'zk-0', stoppedAtMs: 9800, syncedAtMs: 12000 },
    ]),
    { toFirstStopMs: 500, floorMs: 2500 + 3000 + 2200, readinessLagMs: 1000 + 500, betweenStepsMs: 1000 + 300 },
  );
});

test('restarts that overlap (no gating) count no negative time between steps', (t) => {
  const breakdown = rollBreakdown(0, [
    { pod: 'zk-1', stoppedAtMs: 0, syncedAtMs: 5000, readyAtMs: 5000 },
    { pod: 'zk-0', stoppedAtMs: 100, syncedAtMs: 6000, readyAtMs: 6000 },
  ]);
  t.is(breakdown.betweenStepsMs, 0);
});

test('a member missed by one sample but serving again with the same uid is no restart', (t) => {
  const samples = [at(0, member('zk-0', 'a')), at(250), at(500, member('zk-0', 'a'))];
  t.deepEqual(memberRestarts(samples), []);
});

test('two restarts of the same pod are two restarts, in the order they finished', (t) => {
  const samples = [
    at(0, member('zk-0', 'a'), member('zk-1', 'b')),
    at(100, member('zk-0', 'a', { terminating: true }), member('zk-1', 'b')),
    at(200, member('zk-0', 'a2'), member('zk-1', 'b', { terminating: true })),
    at(300, member('zk-0', 'a2', { terminating: true }), down('zk-1', 'b2')),
    at(400, member('zk-0', 'a3'), member('zk-1', 'b2')),
  ];
  t.deepEqual(memberRestarts(samples), [
    { pod: 'zk-0', stoppedAtMs: 100, syncedAtMs: 200, readyAtMs: 200 },
    { pod: 'zk-0', stoppedAtMs: 300, syncedAtMs: 400, readyAtMs: 400 },
    { pod: 'zk-1', stoppedAtMs: 200, syncedAtMs: 400, readyAtMs: 400 },
  ]);
  t.is(floorMs(memberRestarts(samples)), 100 + 100 + 200);
});

test('property: every restart ends after it starts, and the floor is their sum', (t) => {
  const sampleArbitrary = fc.array(
    fc.record({
      uid: fc.constantFrom('a', 'b', 'c'),
      terminating: fc.boolean(),
      serving: fc.boolean(),
      present: fc.boolean(),
    }),
    { maxLength: 40 },
  );
  fc.assert(
    fc.property(sampleArbitrary, (steps) => {
      const samples = steps.map((s, i) =>
        at(
          i * 100,
          ...(s.present
            ? [s.serving ? member('zk-0', s.uid, { terminating: s.terminating }) : down('zk-0', s.uid)]
            : []),
        ),
      );
      const restarts = memberRestarts(samples);
      for (const r of restarts) if (r.syncedAtMs < r.stoppedAtMs) return false;
      return floorMs(restarts) === restarts.reduce((sum, r) => sum + r.syncedAtMs - r.stoppedAtMs, 0);
    }),
  );
  t.pass();
});

test('an election is a leader of a higher epoch, timed from the last sight of the old leader', (t) => {
  const samples = [
    at(0, member('zk-0', 'a'), member('zk-1', 'b', { mode: 'leader', epoch: 1 })),
    at(250, member('zk-0', 'a'), member('zk-1', 'b', { mode: 'leader', epoch: 1 })),
    at(500, down('zk-0', 'a'), down('zk-1', 'b')),
    at(750, member('zk-0', 'a', { mode: 'leader', epoch: 2 }), down('zk-1', 'b')),
    at(1000, member('zk-0', 'a', { mode: 'leader', epoch: 2 }), member('zk-1', 'b2', { epoch: 2 })),
  ];
  t.deepEqual(epochChanges(samples), [{ lastLeaderAtMs: 250, newLeaderAtMs: 750, leader: 'zk-0', epoch: 2 }]);
});

test('a terminating old leader still answering is not counted as the leader', (t) => {
  const samples = [
    at(0, member('zk-1', 'b', { mode: 'leader', epoch: 3 })),
    at(100, member('zk-1', 'b', { mode: 'leader', epoch: 3, terminating: true })),
    at(200, member('zk-0', 'a', { mode: 'leader', epoch: 4 })),
  ];
  t.deepEqual(epochChanges(samples), [{ lastLeaderAtMs: 0, newLeaderAtMs: 200, leader: 'zk-0', epoch: 4 }]);
});

test('a gap is explained by the restarts, elections and writer incidents that overlap it, in time order', (t) => {
  const lines = explainGap(
    { fromMs: 1000, toMs: 5000 },
    [
      { pod: 'zk-0', stoppedAtMs: 0, syncedAtMs: 900 },
      { pod: 'zk-2', stoppedAtMs: 1200, syncedAtMs: 6000 },
    ],
    [{ lastLeaderAtMs: 1100, newLeaderAtMs: 3000, leader: 'zk-1', epoch: 2 }],
    [
      { atMs: 1300, what: 'write failed' },
      { atMs: 7000, what: 'later' },
    ],
  );
  t.deepEqual(lines, [
    '+100 ms: old leader last seen; zk-1 leads epoch 2 at +2000 ms',
    '+200 ms: zk-2 stopped (serving again at +5000 ms)',
    '+300 ms: writer: write failed',
  ]);
});

const percentiles: { values: number[]; p: number; expected: number | undefined }[] = [
  { values: [], p: 50, expected: undefined },
  { values: [7], p: 95, expected: 7 },
  { values: [5, 1, 3, 2, 4], p: 50, expected: 3 },
  { values: [5, 1, 3, 2, 4], p: 95, expected: 5 },
  { values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], p: 50, expected: 5 },
  { values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], p: 95, expected: 10 },
  { values: [3, 1], p: 0, expected: 1 },
];
for (const c of percentiles) {
  test(`nearest-rank p${c.p} of [${c.values}] is ${c.expected}`, (t) => {
    t.is(percentile(c.values, c.p), c.expected);
  });
}

test('property: a percentile is one of the values, and never decreases with p', (t) => {
  fc.assert(
    fc.property(fc.array(fc.integer(), { minLength: 1 }), fc.nat(100), fc.nat(100), (values, p, q) => {
      const [low, high] = p <= q ? [p, q] : [q, p];
      const a = percentile(values, low) as number;
      return values.includes(a) && a <= (percentile(values, high) as number);
    }),
  );
  t.pass();
});

test('a ratio has two decimals and none against a zero or missing baseline', (t) => {
  t.is(ratio(15_619, 440), 35.5);
  t.is(ratio(1, 3), 0.33);
  t.is(ratio(5, 0), undefined);
  t.is(ratio(5, undefined), undefined);
});

test('between steps, the reasons the operator reported are counted, most seen first', (t) => {
  const restarts = [
    { pod: 'zk-2', stoppedAtMs: 0, syncedAtMs: 1000, readyAtMs: 2000 },
    { pod: 'zk-1', stoppedAtMs: 3000, syncedAtMs: 4000, readyAtMs: 5000 },
    { pod: 'zk-0', stoppedAtMs: 5500, syncedAtMs: 7000, readyAtMs: 7000 },
  ];
  const samples: Sample[] = [
    { atMs: 1500, members: [], progress: 'WaitingForReadiness' },
    { atMs: 2000, members: [], progress: 'WaitingForSync' },
    { atMs: 2500, members: [], progress: 'RestartingFollower' },
    { atMs: 5000, members: [], progress: 'RestartingFollower' },
    { atMs: 5500, members: [], progress: 'MemberMissing' },
    { atMs: 7500, members: [], progress: 'RestartingLeader' },
  ];
  t.deepEqual(betweenStepsReasons(samples, restarts), ['RestartingFollower (2 samples)', 'WaitingForSync (1 sample)']);
});
