import { CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import nock from 'nock';
import { FakeClock } from '../../../src/runtime/clock.js';
import {
  defaultIdentity,
  type LeaderElectionOptions,
  LeaderElector,
  type Leadership,
  LeadershipEndedError,
  parseLeaseTime,
} from '../../../src/runtime/leader-election.js';
import { MemoryLogger } from '../../../src/runtime/logging.js';
import { fakeKubeConfig } from '../../support/fake-kubeconfig.js';
import { FakeLeaseServer, type LeaseLink, type LinkOptions, SimulatedProcess } from './lease-simulation.js';

const START_MS = Date.parse('2026-11-25T14:00:00.000Z');
const LEASE_MS = 15_000;
const RENEW_DEADLINE_MS = 10_000;
const RETRY_MS = 2_000;

// ---- a world of candidates on one true clock ---------------------------------------------------

interface Term {
  /** True time (world monotonic) of `onStartedLeading` and of `onStoppedLeading`. */
  readonly startedAtMs: number;
  endedAtMs?: number;
  reason?: string;
}

interface Candidate {
  readonly name: string;
  readonly process: SimulatedProcess;
  readonly link: LeaseLink;
  readonly elector: LeaderElector;
  readonly terms: Term[];
  readonly logger: MemoryLogger;
  leadership(): Leadership | undefined;
}

function newWorld() {
  const clock = new FakeClock(START_MS);
  const server = new FakeLeaseServer(clock);
  const candidates: Candidate[] = [];
  /** Every moment a candidate started leading while another still led. */
  const overlaps: string[] = [];
  /** Moves true time forward to `ms` after the start. */
  const until = (ms: number) => clock.advance(START_MS + ms - clock.monotonicMs());
  const at = () => clock.monotonicMs() - START_MS;
  return { clock, server, candidates, overlaps, until, at };
}
type World = ReturnType<typeof newWorld>;

interface CandidateOptions {
  readonly wallSkewMs?: number;
  readonly latency?: LinkOptions;
  readonly electorOptions?: Partial<LeaderElectionOptions>;
}

function aCandidate(world: World, name: string, options: CandidateOptions = {}): Candidate {
  // Each process has its own monotonic origin: only differences of its own readings mean anything.
  const process = new SimulatedProcess(world.clock, {
    wallSkewMs: options.wallSkewMs ?? 0,
    monotonicOriginMs: -START_MS + 1_000 * (world.candidates.length + 1),
  });
  const link = world.server.link(name, process, options.latency ?? {});
  const terms: Term[] = [];
  const logger = new MemoryLogger();
  let leadership: Leadership | undefined;
  const elector = new LeaderElector({
    leases: world.server.client(link),
    namespace: 'ops',
    name: 'zookeeper-operator',
    identity: name,
    clock: process,
    random: () => 0,
    logger,
    onStartedLeading: (given) => {
      leadership = given;
      for (const other of world.candidates) {
        if (other.name !== name && other.elector.isLeader) {
          world.overlaps.push(`${name} started leading at ${world.at()} ms while ${other.name} still led`);
        }
      }
      terms.push({ startedAtMs: world.at() });
    },
    onStoppedLeading: (reason) => {
      const term = terms.at(-1);
      if (term !== undefined) Object.assign(term, { endedAtMs: world.at(), reason });
    },
    ...options.electorOptions,
  });
  const candidate = { name, process, link, elector, terms, logger, leadership: () => leadership };
  world.candidates.push(candidate);
  return candidate;
}

/** `operator-a` campaigns at once and leads; `operator-b` starts campaigning at `standbyAtMs`. */
async function aLeaderAndStandby(
  world: World,
  options: { leader?: CandidateOptions; standby?: CandidateOptions; standbyAtMs?: number } = {},
) {
  const a = aCandidate(world, 'operator-a', options.leader);
  const b = aCandidate(world, 'operator-b', options.standby);
  void a.elector.run();
  await world.until(options.standbyAtMs ?? 500);
  void b.elector.run();
  return { a, b };
}

/** Writes of the Lease the server applied, by candidate, as `holder@ms`. */
function leaseWrites(world: World, by?: string): string[] {
  return world.server.writes
    .filter((write) => by === undefined || write.by === by)
    .map((write) => `${write.holder || '(released)'}@${write.atMs - START_MS}`);
}

// ---- the basics, on the simulated apiserver ----------------------------------------------------

test('a missing lease is created naming this candidate, with MicroTime timestamps and no transition', async (t) => {
  const world = newWorld();
  const a = aCandidate(world, 'operator-a');
  void a.elector.run();
  await world.until(0);
  t.true(a.elector.isLeader);
  t.like(world.server.lease?.spec, {
    holderIdentity: 'operator-a',
    leaseDurationSeconds: 15,
    leaseTransitions: 0,
    acquireTime: '2026-11-25T14:00:00.000000Z',
    renewTime: '2026-11-25T14:00:00.000000Z',
  });
  t.deepEqual(a.terms, [{ startedAtMs: 0 }]);
});

test('the leader renews every retry period from the version it read, keeping acquireTime and transitions', async (t) => {
  const world = newWorld();
  const a = aCandidate(world, 'operator-a');
  void a.elector.run();
  await world.until(6_000);
  t.deepEqual(leaseWrites(world), ['operator-a@0', 'operator-a@2000', 'operator-a@4000', 'operator-a@6000']);
  t.like(world.server.lease, {
    metadata: { resourceVersion: '4' },
    spec: {
      renewTime: '2026-11-25T14:00:06.000000Z',
      acquireTime: '2026-11-25T14:00:00.000000Z',
      leaseTransitions: 0,
    },
  });
  t.true(a.elector.isLeader);
});

test('stop ends the term, then releases the lease, and a polling standby takes it on its next try', async (t) => {
  const world = newWorld();
  const { a } = await aLeaderAndStandby(world);
  await world.until(1_000);
  let writesWhenTermEnded: string[] | undefined;
  a.leadership()?.signal.addEventListener('abort', () => {
    writesWhenTermEnded = leaseWrites(world);
  });
  await a.elector.stop();
  t.deepEqual(writesWhenTermEnded, ['operator-a@0'], 'the term ended before the release was sent');
  t.deepEqual(leaseWrites(world), ['operator-a@0', '(released)@1000']);
  t.like(a.terms[0], { reason: 'released', endedAtMs: 1_000 });
  await world.until(2_500);
  t.deepEqual(leaseWrites(world, 'operator-b'), ['operator-b@2500'], 'no wait for a lease duration');
  t.like(world.server.lease?.spec, { holderIdentity: 'operator-b', leaseTransitions: 1 });
  t.deepEqual(world.overlaps, []);
});

// ---- expiry is judged by the candidate's own clock, from when it saw the lease change ----------

const skewCases: Array<{ name: string; wallSkewMs?: number; stepAtMs?: number; stepMs?: number }> = [
  { name: 'the same time as the leader' },
  { name: 'a clock 5 s ahead', wallSkewMs: 5_000 },
  { name: 'a clock 6 s ahead (more than lease duration minus renew deadline)', wallSkewMs: 6_000 },
  { name: 'a clock 30 s ahead', wallSkewMs: 30_000 },
  { name: 'a clock one hour ahead', wallSkewMs: 3_600_000 },
  { name: 'a clock 5 s behind', wallSkewMs: -5_000 },
  { name: 'a clock one hour behind', wallSkewMs: -3_600_000 },
  { name: 'a clock stepped one hour forward while it waits', stepAtMs: 10_000, stepMs: 3_600_000 },
];
for (const c of skewCases) {
  test(`a standby with ${c.name} takes over a silent lease one lease duration after it last saw it change, never earlier`, async (t) => {
    const world = newWorld();
    const { a, b } = await aLeaderAndStandby(world, {
      standby: { wallSkewMs: c.wallSkewMs ?? 0 },
      standbyAtMs: 1_000, // it polls at 1 s, 3 s, 5 s, ...
    });
    await world.until(4_500);
    a.link.cut = true; // the leader's host vanishes: its last renewal landed at 4 s
    if (c.stepAtMs !== undefined) {
      await world.until(c.stepAtMs);
      b.process.stepWallClock(c.stepMs ?? 0);
    }
    await world.until(30_000);
    // b saw that renewal change the lease at its read at 5 s, so the lease is free from 20 s: its read at 21 s.
    t.deepEqual(b.terms, [{ startedAtMs: 21_000 }]);
    // a's term ended 10 s after its last renewal started, 5 s (lease duration minus renew deadline) before b could take over.
    t.like(a.terms[0], { startedAtMs: 0, endedAtMs: 14_000, reason: 'lost' });
    t.deepEqual(world.overlaps, []);
  });
}

test('a lease its holder keeps renewing is never taken, however far ahead the candidate clock is', async (t) => {
  const world = newWorld();
  const { a, b } = await aLeaderAndStandby(world, { standby: { wallSkewMs: 24 * 3_600_000 } });
  await world.until(120_000);
  t.deepEqual(b.terms, []);
  t.deepEqual(leaseWrites(world, 'operator-b'), []);
  t.true(a.elector.isLeader);
});

// ---- the renew deadline counts from when a renewal started -------------------------------------

/** Latencies per request, in order; requests past the script are lost (the leader's host vanished). */
function scripted(latencies: readonly number[]): () => number {
  let next = 0;
  return () => latencies[next++] ?? Number.POSITIVE_INFINITY;
}

const lateAnswerCases = [
  { name: 'at once', read: [0, 0], write: [0, 0] },
  { name: '3 s later', read: [0, 0], write: [0, 3_000] },
  { name: '7.5 s later, the read slow too', read: [1_500, 1_500], write: [0, 4_500] },
  { name: '7.9 s later, just before the previous deadline', read: [0, 0], write: [0, 7_900] },
  { name: 'at once after arriving 7 s late', read: [0, 0], write: [7_000, 0] },
];
for (const c of lateAnswerCases) {
  test(`a renewal started at 2 s and answered ${c.name} keeps the term until 12 s, not 10 s past the answer`, async (t) => {
    const world = newWorld();
    const request = scripted([0, 0, c.read[0] ?? 0, c.write[0] ?? 0]); // create's read and write, then the renewal's
    const response = scripted([0, 0, c.read[1] ?? 0, c.write[1] ?? 0]);
    const { a, b } = await aLeaderAndStandby(world, {
      leader: { latency: { requestMs: request, responseMs: response } },
      standbyAtMs: 1_000,
    });
    await world.until(60_000);
    t.like(a.terms[0], { startedAtMs: 0, endedAtMs: 12_000, reason: 'lost' });
    t.true((b.terms[0]?.startedAtMs ?? 0) >= 12_000 + LEASE_MS - RENEW_DEADLINE_MS);
    t.deepEqual(world.overlaps, []);
  });
}

test('a renewal answered after the renew deadline does not revive the term', async (t) => {
  const world = newWorld();
  const a = aCandidate(world, 'operator-a', {
    latency: { requestMs: scripted([0, 0, 0, 0]), responseMs: scripted([0, 0, 0, 10_500]) },
  });
  void a.elector.run();
  await world.until(30_000);
  t.like(a.terms[0], { startedAtMs: 0, endedAtMs: 10_000, reason: 'lost' });
  t.is(a.terms.length, 1);
});

test('an acquisition answered after the renew deadline is not led on; the next attempt leads', async (t) => {
  const world = newWorld();
  // read (404), create answered 11 s late; then fast.
  const a = aCandidate(world, 'operator-a', {
    latency: { responseMs: scripted([0, 11_000, 0, 0, 0, 0, 0, 0]), requestMs: () => 0 },
  });
  void a.elector.run();
  await world.until(14_000);
  t.deepEqual(a.terms, [{ startedAtMs: 13_000 }], 'campaigned again a retry period after the late answer');
  t.like(world.server.lease?.spec, { holderIdentity: 'operator-a', leaseTransitions: 1 });
  t.true(a.logger.lines.some((line) => line.message.includes('answer came after the renew deadline')));
});

// ---- a paused leader: deposed before it can act --------------------------------------------------

test('a leader paused past its renew deadline is deposed by its first write check, before any timer runs', async (t) => {
  const world = newWorld();
  const a = aCandidate(world, 'operator-a');
  void a.elector.run();
  await world.until(3_000);
  const leadership = a.leadership();
  t.truthy(leadership);
  leadership?.assertLeading();
  world.clock.pause(RENEW_DEADLINE_MS); // SIGSTOP ... SIGCONT: 13 s now, last renewal started at 2 s
  t.true(
    world.clock.pendingDelays().some((delay) => delay < 0),
    'timers are overdue and have not run',
  );
  const refusal = t.throws(() => leadership?.assertLeading(), { instanceOf: LeadershipEndedError });
  t.is(refusal?.reason, 'lost');
  t.true(leadership?.signal.aborted, 'the signal is aborted at once');
  t.like(a.terms[0], { reason: 'lost', endedAtMs: 13_000 });
  await world.until(20_000);
  t.deepEqual(leaseWrites(world), ['operator-a@0', 'operator-a@2000'], 'no lease write after the pause either');
});

test('a frozen leader whose answers arrive before its timers run cannot write once thawed', async (t) => {
  const world = newWorld();
  const { a, b } = await aLeaderAndStandby(world);
  await world.until(2_500);
  // A reconcile of a's is waiting for an answer (say, a GET) that arrives while a is frozen.
  const answered = new Promise<void>((resolve) => {
    world.clock.setTimeout(() => a.process.deliver(resolve), 1_000);
  });
  const attempted: string[] = [];
  const reconcile = answered.then(() => {
    try {
      a.leadership()?.assertLeading();
      attempted.push('written');
    } catch (error) {
      attempted.push((error as Error).name);
    }
  });
  a.process.freeze(LEASE_MS + 10_000); // 2.5 s to 27.5 s
  await world.until(27_500);
  await reconcile;
  t.deepEqual(attempted, ['LeadershipEndedError']);
  t.deepEqual(leaseWrites(world, 'operator-a'), ['operator-a@0', 'operator-a@2000']);
  t.true((b.terms[0]?.startedAtMs ?? Number.NaN) < 27_500, 'the standby took over meanwhile');
  t.deepEqual(world.overlaps, []);
});

// ---- never two leaders ------------------------------------------------------------------------

/** Mostly prompt answers, some slow, a few slower than the renew deadline. */
const latencyArb = fc.constantFrom(0, 0, 0, 5, 5, 300, 300, 1_500, 4_000, 9_000, 12_000);
/** Uniform integers: fast-check otherwise favours numbers near the bounds, here mostly zero. */
const uniform = (min: number, max: number) => fc.noBias(fc.integer({ min, max }));
/** A moment in the first minute. */
const momentArb = uniform(0, 60_000);
/** Defined in one run of three. */
const sometimes = <T>(arb: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: 2 }, { arbitrary: arb, weight: 1 });
const candidateArb = fc.record({
  wallSkewMs: uniform(-120_000, 120_000),
  startAtMs: uniform(0, 5_000),
  requestMs: fc.array(latencyArb, { minLength: 1, maxLength: 6 }),
  responseMs: fc.array(latencyArb, { minLength: 1, maxLength: 6 }),
  freezes: fc.array(fc.record({ atMs: momentArb, forMs: uniform(1, 40_000) }), {
    maxLength: 2,
  }),
  /** Graceful stop (the lease is released). */
  stopAtMs: sometimes(momentArb),
  /** The host vanishes: requests from then on, and answers on their way, are lost. */
  crashAtMs: sometimes(momentArb),
});

/** Cycles through `latencies`, so a candidate has slow and fast requests in a repeating pattern. */
function cycling(latencies: readonly number[]): () => number {
  let next = 0;
  return () => latencies[next++ % latencies.length] ?? 0;
}

test('never two leaders, nor a write by a deposed one: skewed clocks, late answers, crashes, stops, frozen processes', async (t) => {
  const seen = { runs: 0, takeovers: 0, refusedWrites: 0 };
  await fc.assert(
    fc.asyncProperty(fc.array(candidateArb, { minLength: 2, maxLength: 3 }), async (specs) => {
      const world = newWorld();
      const writes: string[] = [];
      const candidates = specs.map((spec, index) =>
        aCandidate(world, `operator-${index}`, {
          wallSkewMs: spec.wallSkewMs,
          latency: { requestMs: cycling(spec.requestMs), responseMs: cycling(spec.responseMs) },
        }),
      );
      for (const [index, spec] of specs.entries()) {
        const candidate = candidates[index] as Candidate;
        world.clock.setTimeout(() => void candidate.elector.run(), spec.startAtMs);
        for (const freeze of spec.freezes) {
          world.clock.setTimeout(() => candidate.process.freeze(freeze.forMs), freeze.atMs);
        }
        if (spec.stopAtMs !== undefined) world.clock.setTimeout(() => void candidate.elector.stop(), spec.stopAtMs);
        if (spec.crashAtMs !== undefined) {
          world.clock.setTimeout(() => {
            candidate.link.cut = true;
          }, spec.crashAtMs);
        }
        // A controller that tries to write every 250 ms of its own time, checking right before each write.
        const tryToWrite = () => {
          const leadership = candidate.leadership();
          if (leadership !== undefined && !leadership.signal.aborted) {
            try {
              leadership.assertLeading();
              const others = candidates.filter((other) => other !== candidate && other.elector.isLeader);
              const wrong = !candidate.elector.isLeader ? ' DEPOSED' : others.length > 0 ? ' OVERLAP' : '';
              writes.push(`${candidate.name}@${world.at()}${wrong}`);
            } catch {
              // Deposed, though not told yet by a timer: the write is not sent.
              seen.refusedWrites += 1;
            }
          }
          candidate.process.setTimeout(tryToWrite, 250);
        };
        candidate.process.setTimeout(tryToWrite, 250);
      }
      await world.until(90_000);
      seen.runs += 1;
      if (candidates.flatMap((candidate) => candidate.terms).length > 1) seen.takeovers += 1;
      t.deepEqual(world.overlaps, []);
      t.deepEqual(
        writes.filter((write) => write.endsWith('OVERLAP') || write.endsWith('DEPOSED')),
        [],
      );
    }),
    { numRuns: 100 },
  );
  t.log(seen);
  t.true(seen.takeovers > 0, 'the scenarios hand leadership over');
});

// ---- error paths on the real client (nock) -----------------------------------------------------

const SERVER = 'http://kube.test';
const LEASES_PATH = '/apis/coordination.k8s.io/v1/namespaces/ops/leases';
const LEASE_PATH = `${LEASES_PATH}/zookeeper-operator`;
const ME = 'zookeeper-operator-7d9f-abc12_0a1b2c3d';

test.before(() => nock.disableNetConnect());
test.afterEach.always(() => nock.cleanAll());

function microTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '000Z');
}

function aLease(spec: { holder: string; resourceVersion: string }) {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'zookeeper-operator', namespace: 'ops', resourceVersion: spec.resourceVersion },
    spec: {
      holderIdentity: spec.holder,
      leaseDurationSeconds: 15,
      acquireTime: microTime(START_MS),
      renewTime: microTime(START_MS),
      leaseTransitions: 0,
    },
  };
}

function aStatus(code: number, reason: string) {
  return { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message: `injected ${reason}` };
}

function aNockedElector() {
  const clock = new FakeClock(START_MS);
  const transitions: string[] = [];
  let leadership: Leadership | undefined;
  const elector = new LeaderElector({
    leases: fakeKubeConfig(SERVER).makeApiClient(CoordinationV1Api),
    namespace: 'ops',
    name: 'zookeeper-operator',
    identity: ME,
    clock,
    random: () => 0,
    logger: new MemoryLogger(),
    onStartedLeading: (given) => {
      leadership = given;
      transitions.push('started');
    },
    onStoppedLeading: (reason) => transitions.push(`stopped:${reason}`),
  });
  return { elector, clock, transitions, signal: () => leadership?.signal };
}

async function eventually(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** An elector that created the lease over HTTP and leads. */
async function aNockedLeader(t: ExecutionContext) {
  const created: V1Lease[] = [];
  const api = nock(SERVER)
    .get(LEASE_PATH)
    .reply(404, aStatus(404, 'NotFound'))
    .post(LEASES_PATH, (body: V1Lease) => created.push(body) > 0)
    .reply(201, aLease({ holder: ME, resourceVersion: '1' }));
  const harness = aNockedElector();
  const running = harness.elector.run();
  await eventually(() => harness.elector.isLeader, 'leading');
  t.true(api.isDone());
  t.regex(String(created[0]?.spec?.renewTime), /\.\d{6}Z$/, 'MicroTime on the wire');
  return { ...harness, running };
}

test.serial('a 409 on renewal means another candidate wrote the lease: leadership ends at once', async (t) => {
  const { clock, elector, transitions, signal, running } = await aNockedLeader(t);
  const api = nock(SERVER)
    .get(LEASE_PATH)
    .reply(200, aLease({ holder: ME, resourceVersion: '1' }))
    .put(LEASE_PATH)
    .reply(409, aStatus(409, 'Conflict'));
  await clock.advance(RETRY_MS);
  await eventually(() => !elector.isLeader, 'leadership lost');
  t.true(api.isDone());
  t.deepEqual(transitions, ['started', 'stopped:lost']);
  t.true(signal()?.aborted);
  await running;
});

test.serial('failing renewals end leadership exactly at the renew deadline, not before', async (t) => {
  const { clock, elector, transitions, signal } = await aNockedLeader(t);
  let failedReads = 0;
  nock(SERVER)
    .get(LEASE_PATH)
    .times(10)
    .reply(() => {
      failedReads++;
      return [500, aStatus(500, 'InternalError')];
    });
  for (let attempt = 1; attempt <= 4; attempt++) {
    await clock.advance(RETRY_MS);
    await eventually(() => failedReads === attempt, `renewal attempt ${attempt}`);
    // The next retry waits on the clock beside the deadline timer.
    await eventually(() => clock.pendingDelays().length === 2, 'next retry scheduled');
    t.true(elector.isLeader, `still leading ${attempt * RETRY_MS} ms after the last renewal`);
  }
  await clock.advance(RETRY_MS);
  // No HTTP is awaited here: the deadline timer alone ends leadership.
  t.false(elector.isLeader);
  t.true(signal()?.aborted);
  t.deepEqual(transitions, ['started', 'stopped:lost']);
});

test.serial('losing the create race (409 AlreadyExists) means campaigning on, not leading', async (t) => {
  const api = nock(SERVER)
    .get(LEASE_PATH)
    .reply(404, aStatus(404, 'NotFound'))
    .post(LEASES_PATH)
    .reply(409, aStatus(409, 'AlreadyExists'))
    .get(LEASE_PATH)
    .reply(200, aLease({ holder: 'zookeeper-operator-other_1234', resourceVersion: '3' }));
  const { elector, clock, transitions } = aNockedElector();
  void elector.run();
  await eventually(() => api.pendingMocks().length === 1 && clock.pendingDelays().length === 1, 'create lost');
  await clock.advance(RETRY_MS);
  await eventually(() => api.isDone(), 'second read');
  t.false(elector.isLeader);
  t.deepEqual(transitions, []);
  await elector.stop();
});

// ---- small parts -------------------------------------------------------------------------------

test('the default identity is the pod name plus a random suffix', (t) => {
  const previous = process.env.POD_NAME;
  process.env.POD_NAME = 'zookeeper-operator-7d9f-abc12';
  try {
    const first = defaultIdentity();
    t.regex(first, /^zookeeper-operator-7d9f-abc12_[0-9a-f]{8}$/);
    t.not(defaultIdentity(), first, 'a restarted process is a new candidate');
  } finally {
    if (previous === undefined) delete process.env.POD_NAME;
    else process.env.POD_NAME = previous;
  }
});

test('the timing must satisfy retryPeriod < renewDeadline < leaseDuration', (t) => {
  const world = newWorld();
  t.throws(() => aCandidate(world, 'operator-a', { electorOptions: { renewDeadlineMs: 20_000 } }), {
    message: /retryPeriod < renewDeadline < leaseDuration/,
  });
});

test('lease times parse from strings and Dates', (t) => {
  t.is(parseLeaseTime('2026-11-25T14:00:00.123456Z'), Date.parse('2026-11-25T14:00:00.123Z'));
  t.is(parseLeaseTime(new Date(START_MS)), START_MS);
  t.is(parseLeaseTime('not a time'), undefined);
  t.is(parseLeaseTime(undefined), undefined);
});
