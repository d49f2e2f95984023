import { readFileSync } from 'node:fs';
import test from 'ava';
import type { RollResult } from '../../../bench/cluster/roll.js';
import { type BenchResults, publishedSummary, publishSummary, renderSummary } from '../../../bench/cluster/summary.js';
import { repoPath } from '../../harness/repo.js';

const aRoll = (overrides: Partial<RollResult>): RollResult => ({
  strategy: 'operator',
  members: 3,
  zookeeperVersion: '3.9.4',
  elections: 1,
  leaderlessMs: [2000],
  longestGapMs: 1500,
  leaderStepGapMs: 1500,
  failedWrites: 2,
  acknowledgedWrites: 998,
  rollMs: 40_000,
  breakdown: { toFirstStopMs: 1000, floorMs: 30_000, readinessLagMs: 5000, betweenStepsMs: 4000 },
  restarts: [
    { pod: 'zk-1', stoppedAtMs: 1000, syncedAtMs: 9000, readyAtMs: 10_000, wasLeader: false },
    { pod: 'zk-2', stoppedAtMs: 12_000, syncedAtMs: 20_000, readyAtMs: 21_000, wasLeader: true },
  ],
  betweenStepsReasons: ['WaitingForReadiness (4 samples)'],
  longestGapExplained: ['+0 ms: zk-2 stopped (serving again at +8000 ms)'],
  ...overrides,
});

const results = (rolls: RollResult[]): BenchResults => ({
  startedAt: '2026-12-02T05:00:00.000Z',
  finishedAt: '2026-12-02T05:20:00.000Z',
  machine: {
    cpu: 'Test CPU',
    cores: 2,
    memoryGiB: 24,
    os: 'Linux 6',
    node: '24.21.0',
    kubernetes: 'v1.36.3',
    zookeeper: '3.9.4',
  },
  rolls,
});

test('each roll is set against the baseline roll of the same size', (t) => {
  const summary = renderSummary(
    results([
      aRoll({ strategy: 'statefulset', elections: 2, longestGapMs: 6000, rollMs: 25_000 }),
      aRoll({ longestGapMs: 1500, rollMs: 40_000 }),
    ]),
  );
  t.true(
    summary.includes('| 3 | operator | 1 | 0.25× (1,500 ms) | 2 of 1000 | 1.33× (40,000 ms / 30,000 ms) | 1.60× |'),
    summary,
  );
  t.true(summary.includes('| 3 | StatefulSet order (baseline) | 2 | 1.00× (6,000 ms)'), summary);
});

test('a missed goal says by how much; a met one says so', (t) => {
  const summary = renderSummary(results([aRoll({ elections: 2, longestGapMs: 3000, leaderlessMs: [1500, 2000] })]));
  t.true(summary.includes('one election per roll: **missed**: 2; 1 more than the goal'), summary);
  t.true(
    summary.includes(
      'longest gap at most one election (2,000 ms without a leader): **missed**: 3,000 ms; 1.50× the election',
    ),
    summary,
  );
  t.true(summary.includes('roll time at most 1.2 × the floor: **missed**: 1.33×; 1.11× the goal'), summary);
  const met = renderSummary(results([aRoll({ rollMs: 33_000 })]));
  t.true(met.includes('one election per roll: met: 1'), met);
  t.true(met.includes('roll time at most 1.2 × the floor: met: 1.10×'), met);
});

test('the summary names the machine and is the same text for the same results', (t) => {
  const input = results([aRoll({})]);
  t.is(renderSummary(input), renderSummary(structuredClone(input)));
  t.true(renderSummary(input).includes('on Test CPU (2 cores, 24 GiB), Linux 6; Node 24.21.0, Kubernetes v1.36.3'));
});

test('a summary published into a document reads back unchanged, and the text around it stays', (t) => {
  const doc = 'intro\n<!-- bench-results:start -->\nold\n<!-- bench-results:end -->\nanalysis\n';
  const published = publishSummary(doc, 'new figures\n');
  t.is(published, 'intro\n<!-- bench-results:start -->\nnew figures\n<!-- bench-results:end -->\nanalysis\n');
  t.is(publishedSummary(published), 'new figures\n');
  t.throws(() => publishSummary('no markers', 'x'), { message: /no <!-- bench-results:start -->/ });
});

test('docs/benchmarks.md shows exactly the summary of docs/benchmarks.json (make bench writes both; bench/cluster/main.ts --render-docs redoes the text)', (t) => {
  const json = JSON.parse(readFileSync(repoPath('docs/benchmarks.json'), 'utf8')) as BenchResults;
  t.is(publishedSummary(readFileSync(repoPath('docs/benchmarks.md'), 'utf8')), renderSummary(json));
});

test('the leader hand-off is set against the plain leader-last restart of the same size, with its goals', (t) => {
  const summary = renderSummary(
    results([
      aRoll({ leaderStepGapMs: 1500 }),
      aRoll({ strategy: 'handoff', leaderStepGapMs: 250, longestGapMs: 900 }),
      aRoll({ strategy: 'handoff', members: 5, leaderStepGapMs: 600 }),
    ]),
  );
  t.true(summary.includes('| 3 | 1,500 ms | 250 ms | 6.00× | 1 / 1 |'), summary);
  t.true(summary.includes('- 3 members: at most 0.3 s: met: 250 ms; 5 times shorter: met: 6.00×'), summary);
  t.true(summary.includes('| 5 | n/a | 600 ms |'), summary);
  t.true(summary.includes('- 5 members: at most 0.3 s: **missed**: 600 ms; 2.00× the goal'), summary);
  t.true(summary.includes('| 3 | operator, leader hand-off | 1 |'), summary);
});
