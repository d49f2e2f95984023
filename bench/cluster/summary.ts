/**
 * The benchmark results (what `make bench` writes as JSON) and their markdown summary. Every
 * headline figure is a ratio against a baseline measured in the same run, or a count; the
 * milliseconds behind each ratio follow in brackets. Pure: same results, same text.
 */
import type { QuietStatus } from './quiet.js';
import type { ReactionTimes } from './reactions.js';
import type { RollResult } from './roll.js';
import type { ScalingStep } from './scaling.js';
import { percentile, ratio } from './timeline.js';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  kubernetes: string;
  zookeeper: string;
}

export interface BenchResults {
  startedAt: string;
  finishedAt: string;
  machine: Machine;
  rolls: RollResult[];
  scaling?: ScalingStep[];
  reactions?: ReactionTimes;
  quiet?: QuietStatus;
}

const ms = (value: number) => `${Math.round(value).toLocaleString('en')} ms`;
const times = (value: number | undefined) => (value === undefined ? 'n/a' : `${value.toFixed(2)}×`);
const mean = (values: readonly number[]) =>
  values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0) / values.length;

function baselineOf(rolls: readonly RollResult[], members: number): RollResult | undefined {
  return rolls.find((r) => r.strategy === 'statefulset' && r.members === members);
}

/** Met, or missed by how much. */
function goal(met: boolean, text: string, miss: string): string {
  return met ? `met: ${text}` : `**missed**: ${text}; ${miss}`;
}

const STRATEGY_LABELS: Record<RollResult['strategy'], string> = {
  operator: 'operator',
  handoff: 'operator, leader hand-off',
  statefulset: 'StatefulSet order (baseline)',
};

/** The leader hand-off against the plain leader-last restart of the same size, in the same run. */
function handOffSection(rolls: readonly RollResult[]): string[] {
  const handOffs = rolls.filter((r) => r.strategy === 'handoff');
  if (handOffs.length === 0) return [];
  const lines = [
    '#### Leader hand-off (`spec.rollingUpdate.leaderHandOff`)',
    '',
    'The leader step of a roll: from the last other member synced on the new revision to the roll seen finished.',
    'Plain: the leader restarts and the others elect a new one. Hand-off: the leader leaves the config by reconfig',
    '(leadership moves to a synced follower), restarts as a joiner and is added back.',
    '',
    '| members | leader step, longest write gap: plain | hand-off | plain ÷ hand-off | elections, plain / hand-off |',
    '|---|---|---|---|---|',
  ];
  for (const handOff of handOffs) {
    const plain = rolls.find((r) => r.strategy === 'operator' && r.members === handOff.members);
    lines.push(
      `| ${handOff.members} | ${plain === undefined ? 'n/a' : ms(plain.leaderStepGapMs)} | ${ms(handOff.leaderStepGapMs)} | ${times(ratio(plain?.leaderStepGapMs ?? 0, handOff.leaderStepGapMs))} | ${plain?.elections ?? 'n/a'} / ${handOff.elections} |`,
    );
  }
  lines.push(
    '',
    'Goals: the leader step’s longest gap at most 0.3 s, and at least 5 times shorter than the plain restart’s.',
    '',
  );
  for (const handOff of handOffs) {
    const plain = rolls.find((r) => r.strategy === 'operator' && r.members === handOff.members);
    const shorter = ratio(plain?.leaderStepGapMs ?? 0, handOff.leaderStepGapMs) ?? 0;
    lines.push(
      `- ${handOff.members} members: at most 0.3 s: ${goal(handOff.leaderStepGapMs <= 300, ms(handOff.leaderStepGapMs), `${times(handOff.leaderStepGapMs / 300)} the goal`)}; 5 times shorter: ${goal(shorter >= 5, times(shorter), `${times(shorter / 5)} of the goal`)}`,
    );
  }
  return lines;
}

function rollSection(rolls: readonly RollResult[]): string[] {
  const lines = [
    '### Roll disturbance',
    '',
    'A config change that restarts every member, under a client writing znodes without pause. Baseline: the same',
    'roll done as a StatefulSet `RollingUpdate` does it (highest ordinal first, each step gated on pod readiness only),',
    'on a cluster of the same size in the same run.',
    '',
    '| members | rolled by | elections | longest write gap ÷ baseline | failed writes | roll time ÷ floor | roll time ÷ baseline |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const roll of rolls) {
    const baseline = baselineOf(rolls, roll.members);
    lines.push(
      `| ${roll.members} | ${STRATEGY_LABELS[roll.strategy]} | ${roll.elections} | ${times(ratio(roll.longestGapMs, baseline?.longestGapMs))} (${ms(roll.longestGapMs)}) | ${roll.failedWrites} of ${roll.failedWrites + roll.acknowledgedWrites} | ${times(ratio(roll.rollMs, roll.breakdown.floorMs))} (${ms(roll.rollMs)} / ${ms(roll.breakdown.floorMs)}) | ${times(ratio(roll.rollMs, baseline?.rollMs))} |`,
    );
  }
  lines.push('', '#### Goals (operator rolls)', '');
  for (const roll of rolls.filter((r) => r.strategy === 'operator')) {
    const election = Math.max(0, ...roll.leaderlessMs);
    const rollRatio = ratio(roll.rollMs, roll.breakdown.floorMs) ?? Number.POSITIVE_INFINITY;
    lines.push(
      `- ${roll.members} members:`,
      `  - one election per roll: ${goal(roll.elections === 1, `${roll.elections}`, `${roll.elections - 1} more than the goal`)}`,
      `  - longest gap at most one election (${ms(election)} without a leader): ${goal(roll.longestGapMs <= election, ms(roll.longestGapMs), `${times(ratio(roll.longestGapMs, election))} the election`)}`,
      `  - roll time at most 1.2 × the floor: ${goal(rollRatio <= 1.2, times(rollRatio), `${times(rollRatio / 1.2)} the goal`)}`,
    );
  }
  const handOff = handOffSection(rolls);
  if (handOff.length > 0) lines.push('', ...handOff);
  lines.push(
    '',
    '#### Where the roll time goes',
    '',
    'Per roll, added up over its members: the config change to the first stop; stop to synced (the floor); synced to',
    'the pod Ready (the readiness probe, period 5 s); Ready to the next stop (the roller itself).',
    '',
    '| members | rolled by | to first stop | floor | readiness lag | Ready → next stop | roll time |',
    '|---|---|---|---|---|---|---|',
  );
  for (const roll of rolls) {
    const b = roll.breakdown;
    lines.push(
      `| ${roll.members} | ${roll.strategy} | ${ms(b.toFirstStopMs)} | ${ms(b.floorMs)} | ${ms(b.readinessLagMs)} | ${ms(b.betweenStepsMs)} | ${ms(roll.rollMs)} |`,
    );
  }
  lines.push('', 'What the operator reported between steps (its `Progressing` reason, sampled every 250 ms):', '');
  for (const roll of rolls.filter((r) => r.strategy === 'operator')) {
    lines.push(`- ${roll.members} members: ${roll.betweenStepsReasons.join(', ') || 'nothing sampled'}`);
  }
  lines.push('', '#### What happened during each longest write gap', '');
  for (const roll of rolls) {
    lines.push(
      `- ${roll.members} members, ${roll.strategy}: ${ms(roll.longestGapMs)}`,
      ...roll.longestGapExplained.map((line) => `  - ${line}`),
    );
  }
  lines.push('', '#### Restart order and restart-to-synced times', '');
  for (const roll of rolls) {
    const order = roll.restarts.map(
      (r) => `${r.pod}${r.wasLeader ? ' (leader)' : ''} ${ms(r.syncedAtMs - r.stoppedAtMs)}`,
    );
    lines.push(`- ${roll.members} members, ${roll.strategy}: ${order.join(', ')}`);
  }
  return lines;
}

function scalingSection(steps: readonly ScalingStep[], rolls: readonly RollResult[]): string[] {
  const roll = rolls.find((r) => r.strategy === 'operator' && r.members === 3);
  const memberStart = mean(roll?.restarts.map((r) => r.syncedAtMs - r.stoppedAtMs) ?? []);
  const lines = [
    '### Scaling 3 → 5 → 3',
    '',
    `Baseline: a member's mean restart-to-synced time in the 3-member operator roll of this run (${memberStart === undefined ? 'n/a' : ms(memberStart)}), about the least a member takes to start and sync.`,
    '',
    '| step | time ÷ member start | per member changed ÷ member start | elections | longest write gap | failed writes |',
    '|---|---|---|---|---|---|',
  ];
  for (const step of steps) {
    const changed = Math.abs(step.to - step.from);
    lines.push(
      `| ${step.from} → ${step.to} | ${times(ratio(step.durationMs, memberStart))} (${ms(step.durationMs)}) | ${times(ratio(step.durationMs / changed, memberStart))} | ${step.elections} | ${ms(step.longestGapMs)} | ${step.failedWrites} of ${step.failedWrites + step.acknowledgedWrites} |`,
    );
  }
  lines.push('');
  for (const step of steps) {
    if (step.longestGapExplained.length === 0) continue;
    lines.push(
      `- ${step.from} → ${step.to}, longest gap ${ms(step.longestGapMs)}:`,
      ...step.longestGapExplained.map((l) => `  - ${l}`),
    );
  }
  return lines;
}

function reactionSection(reactions: ReactionTimes): string[] {
  const p = (values: number[], q: number) => percentile(values, q) ?? 0;
  const created = reactions.createToChildrenMs;
  const direct = reactions.directCreateMs;
  return [
    '### Reaction times',
    '',
    '| what | ÷ baseline | measured (operator / baseline) |',
    '|---|---|---|',
    `| create → all children applied, p50 of ${created.length}; baseline: the same objects created directly by a client | ${times(ratio(p(created, 50), p(direct, 50)))} | ${ms(p(created, 50))} / ${ms(p(direct, 50))} |`,
    `| the same, p95 | ${times(ratio(p(created, 95), p(direct, 95)))} | ${ms(p(created, 95))} / ${ms(p(direct, 95))} |`,
    `| member JVM killed (SIGKILL) → \`Degraded=True\`; baseline: → the leader counts one synced follower fewer | ${times(ratio(reactions.crashToDegradedMs, reactions.crashToLeaderNoticedMs))} | ${ms(reactions.crashToDegradedMs)} / ${ms(reactions.crashToLeaderNoticedMs)} |`,
    `| member pod deleted → status: every member serving and synced; baseline: → the new member serving | ${times(ratio(reactions.podDeletedToStatusMs, reactions.podDeletedToServingMs))} | ${ms(reactions.podDeletedToStatusMs)} / ${ms(reactions.podDeletedToServingMs)} |`,
  ];
}

function quietSection(quiet: QuietStatus): string[] {
  const what = (writes: Record<string, number>) =>
    Object.entries(writes)
      .map(([request, count]) => `${count} ${request}`)
      .join(', ') || 'none';
  return [
    '### Quiet status',
    '',
    "A settled 3-member cluster, one minute each. API writes by the operator's user come from kube-apiserver's audit log;",
    "connections are the four-letter words each member logged as served to the operator's address.",
    '',
    '| cluster | API writes per minute | which | connections per member per minute |',
    '|---|---|---|---|',
    `| idle | ${quiet.idle.writesPerMinute} | ${what(quiet.idle.writes)} | ${quiet.idle.connectionsPerMemberPerMinute} |`,
    `| writer at ${quiet.busy.znodesPerSecond} znodes/s | ${quiet.busy.writesPerMinute} | ${what(quiet.busy.writes)} | ${quiet.busy.connectionsPerMemberPerMinute} |`,
  ];
}

export function renderSummary(results: BenchResults): string {
  const { machine } = results;
  return [
    '## Latest results',
    '',
    `Run ${results.startedAt} to ${results.finishedAt} on ${machine.cpu} (${machine.cores} cores, ${machine.memoryGiB} GiB), ${machine.os}; Node ${machine.node}, Kubernetes ${machine.kubernetes}, ZooKeeper ${machine.zookeeper}.`,
    '',
    ...rollSection(results.rolls),
    ...(results.scaling === undefined ? [] : ['', ...scalingSection(results.scaling, results.rolls)]),
    ...(results.reactions === undefined ? [] : ['', ...reactionSection(results.reactions)]),
    ...(results.quiet === undefined ? [] : ['', ...quietSection(results.quiet)]),
    '',
  ].join('\n');
}

const BLOCK_START = '<!-- bench-results:start -->';
const BLOCK_END = '<!-- bench-results:end -->';

/** The summary inside `doc` (docs/benchmarks.md), between its markers; undefined without them. */
export function publishedSummary(doc: string): string | undefined {
  const start = doc.indexOf(BLOCK_START);
  const end = doc.indexOf(BLOCK_END);
  if (start < 0 || end < start) return undefined;
  return doc.slice(start + BLOCK_START.length + 1, end);
}

/** `doc` with the text between its markers replaced by `summary`; throws without the markers. */
export function publishSummary(doc: string, summary: string): string {
  const start = doc.indexOf(BLOCK_START);
  const end = doc.indexOf(BLOCK_END);
  if (start < 0 || end < start) throw new Error(`the document has no ${BLOCK_START} … ${BLOCK_END} block`);
  return `${doc.slice(0, start + BLOCK_START.length)}\n${summary}${doc.slice(end)}`;
}
