import { CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import test, { type ExecutionContext } from 'ava';
import nock from 'nock';
import { FakeClock } from '../../../src/runtime/clock.js';
import {
  defaultIdentity,
  type LeaderElectionOptions,
  LeaderElector,
  parseLeaseTime,
} from '../../../src/runtime/leader-election.js';
import { MemoryLogger } from '../../../src/runtime/logging.js';
import { fakeKubeConfig } from '../../support/fake-kubeconfig.js';

const SERVER = 'http://kube.test';
const LEASES_PATH = '/apis/coordination.k8s.io/v1/namespaces/ops/leases';
const LEASE_PATH = `${LEASES_PATH}/zookeeper-operator`;
const ME = 'zookeeper-operator-7d9f-abc12_0a1b2c3d';
const START_MS = Date.parse('2026-11-25T14:00:00.000Z');
/** The apiserver's MicroTime format: exactly six fractional digits. */
const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

test.before(() => nock.disableNetConnect());
test.afterEach.always(() => nock.cleanAll());

function microTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '000Z');
}

function aLease(spec: {
  holder: string;
  resourceVersion: string;
  renewedAtMs?: number;
  acquiredAtMs?: number;
  transitions?: number;
  durationSeconds?: number;
}) {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'zookeeper-operator', namespace: 'ops', resourceVersion: spec.resourceVersion },
    spec: {
      holderIdentity: spec.holder,
      leaseDurationSeconds: spec.durationSeconds ?? 15,
      acquireTime: microTime(spec.acquiredAtMs ?? spec.renewedAtMs ?? START_MS),
      renewTime: microTime(spec.renewedAtMs ?? START_MS),
      leaseTransitions: spec.transitions ?? 0,
    },
  };
}

function aStatus(code: number, reason: string) {
  return { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message: `injected ${reason}` };
}

/** Records request bodies; nock passes the parsed JSON to body matchers. */
function capture(into: V1Lease[]) {
  return (body: V1Lease) => {
    into.push(body);
    return true;
  };
}

function anElector(options: Partial<LeaderElectionOptions> = {}) {
  const kubeConfig = fakeKubeConfig(SERVER);
  const clock = new FakeClock(START_MS);
  const transitions: string[] = [];
  let leadingSignal: AbortSignal | undefined;
  const logger = new MemoryLogger();
  const elector = new LeaderElector({
    leases: kubeConfig.makeApiClient(CoordinationV1Api),
    namespace: 'ops',
    name: 'zookeeper-operator',
    identity: ME,
    clock,
    random: () => 0,
    logger,
    onStartedLeading: (signal) => {
      leadingSignal = signal;
      transitions.push('started');
    },
    onStoppedLeading: (reason) => transitions.push(`stopped:${reason}`),
    ...options,
  });
  return { elector, clock, transitions, logger, signal: () => leadingSignal };
}

async function eventually(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Starts an elector that acquires a lease that did not exist yet; returns with it leading. */
async function aLeader(t: ExecutionContext) {
  const created: V1Lease[] = [];
  const api = nock(SERVER)
    .get(LEASE_PATH)
    .reply(404, aStatus(404, 'NotFound'))
    .post(LEASES_PATH, capture(created))
    .reply(201, aLease({ holder: ME, resourceVersion: '1' }));
  const harness = anElector();
  const running = harness.elector.run();
  await eventually(() => harness.elector.isLeader, 'leading');
  t.true(api.isDone());
  return { ...harness, running, created };
}

test.serial('a missing lease is created with this identity and MicroTime timestamps', async (t) => {
  const { created, transitions, signal } = await aLeader(t);
  const spec = created[0]?.spec;
  t.is(spec?.holderIdentity, ME);
  t.is(spec?.leaseDurationSeconds, 15);
  t.is(spec?.leaseTransitions, 0);
  t.is(String(spec?.renewTime), '2026-11-25T14:00:00.000000Z');
  t.regex(String(spec?.acquireTime), MICRO_TIME);
  t.deepEqual(transitions, ['started']);
  t.false(signal()?.aborted);
});

test.serial('the leader renews every retry period with the resourceVersion it read', async (t) => {
  const { clock, elector } = await aLeader(t);
  const replaced: V1Lease[] = [];
  const api = nock(SERVER)
    .get(LEASE_PATH)
    .reply(200, aLease({ holder: ME, resourceVersion: '1' }))
    .put(LEASE_PATH, capture(replaced))
    .reply(200, aLease({ holder: ME, resourceVersion: '2', renewedAtMs: START_MS + 2_000, acquiredAtMs: START_MS }));
  await clock.advance(2_000);
  await eventually(() => api.isDone(), 'renewal');
  const body = replaced[0];
  t.is(body?.metadata?.resourceVersion, '1');
  t.is(body?.spec?.holderIdentity, ME);
  t.is(String(body?.spec?.renewTime), '2026-11-25T14:00:02.000000Z');
  t.is(String(body?.spec?.acquireTime), '2026-11-25T14:00:00.000000Z', 'a renewal keeps the acquire time');
  t.is(body?.spec?.leaseTransitions, 0, 'a renewal is not a transition');
  t.true(elector.isLeader);
});

test.serial('a 409 on renewal means another candidate wrote the lease: leadership ends at once', async (t) => {
  const { clock, elector, transitions, signal, running } = await aLeader(t);
  const api = nock(SERVER)
    .get(LEASE_PATH)
    .reply(200, aLease({ holder: ME, resourceVersion: '1' }))
    .put(LEASE_PATH)
    .reply(409, aStatus(409, 'Conflict'));
  await clock.advance(2_000);
  await eventually(() => !elector.isLeader, 'leadership lost');
  t.true(api.isDone());
  t.deepEqual(transitions, ['started', 'stopped:lost']);
  t.true(signal()?.aborted);
  await running;
});

const takeoverCases = [
  {
    name: 'an expired lease of another holder',
    lease: aLease({
      holder: 'zookeeper-operator-old_ffff',
      resourceVersion: '7',
      renewedAtMs: START_MS - 20_000,
      transitions: 3,
    }),
  },
  {
    name: 'a released lease (no holder)',
    lease: aLease({ holder: '', resourceVersion: '7', renewedAtMs: START_MS - 1_000, transitions: 3 }),
  },
];
for (const c of takeoverCases) {
  test.serial(`taking over ${c.name} bumps leaseTransitions and sets acquireTime`, async (t) => {
    const replaced: V1Lease[] = [];
    const api = nock(SERVER)
      .get(LEASE_PATH)
      .reply(200, c.lease)
      .put(LEASE_PATH, capture(replaced))
      .reply(200, aLease({ holder: ME, resourceVersion: '8', transitions: 4 }));
    const { elector, transitions } = anElector();
    void elector.run();
    await eventually(() => elector.isLeader, 'leading');
    t.true(api.isDone());
    const body = replaced[0];
    t.is(body?.metadata?.resourceVersion, '7');
    t.is(body?.spec?.holderIdentity, ME);
    t.is(body?.spec?.leaseTransitions, 4);
    t.is(String(body?.spec?.acquireTime), '2026-11-25T14:00:00.000000Z');
    t.is(String(body?.spec?.renewTime), '2026-11-25T14:00:00.000000Z');
    t.deepEqual(transitions, ['started']);
  });
}

test.serial('a lease held and renewed by another candidate is left alone and polled every retry period', async (t) => {
  const api = nock(SERVER)
    .get(LEASE_PATH)
    .times(2)
    .reply(
      200,
      aLease({ holder: 'zookeeper-operator-other_1234', resourceVersion: '9', renewedAtMs: START_MS - 1_000 }),
    );
  const { elector, clock, transitions } = anElector();
  void elector.run();
  await eventually(() => api.pendingMocks().length === 1 && clock.pendingDelays().length === 1, 'first read');
  t.deepEqual(clock.pendingDelays(), [2_000]);
  await clock.advance(1_999);
  t.is(api.pendingMocks().length, 1, 'no second read before the retry period');
  await clock.advance(1);
  await eventually(() => api.isDone(), 'second read');
  t.false(elector.isLeader);
  t.deepEqual(transitions, []);
  await elector.stop();
});

test.serial('failing renewals end leadership exactly at the renew deadline, not before', async (t) => {
  const { clock, elector, transitions, signal } = await aLeader(t);
  let failedReads = 0;
  nock(SERVER)
    .get(LEASE_PATH)
    .times(10)
    .reply(() => {
      failedReads++;
      return [500, aStatus(500, 'InternalError')];
    });
  for (let attempt = 1; attempt <= 4; attempt++) {
    await clock.advance(2_000);
    await eventually(() => failedReads === attempt, `renewal attempt ${attempt}`);
    // The next retry waits on the clock beside the deadline timer.
    await eventually(() => clock.pendingDelays().length === 2, 'next retry scheduled');
    t.true(elector.isLeader, `still leading ${attempt * 2_000} ms after the last renewal`);
  }
  await clock.advance(2_000);
  // No HTTP is awaited here: the deadline timer alone ends leadership.
  t.false(elector.isLeader);
  t.true(signal()?.aborted);
  t.deepEqual(transitions, ['started', 'stopped:lost']);
});

test.serial('stop releases the lease so a standby can take it at once', async (t) => {
  const { elector, transitions, running, signal } = await aLeader(t);
  const replaced: V1Lease[] = [];
  const api = nock(SERVER)
    .put(LEASE_PATH, capture(replaced))
    .reply(200, aLease({ holder: '', resourceVersion: '2', durationSeconds: 1 }));
  await elector.stop();
  await running;
  t.true(api.isDone());
  const body = replaced[0];
  t.is(body?.metadata?.resourceVersion, '1', 'released from the version we last wrote');
  t.is(body?.spec?.holderIdentity, '');
  t.is(body?.spec?.leaseDurationSeconds, 1);
  t.regex(String(body?.spec?.renewTime), MICRO_TIME);
  t.deepEqual(transitions, ['started', 'stopped:released']);
  t.true(signal()?.aborted);
  t.false(elector.isLeader);
});

test.serial('losing the create race (409 AlreadyExists) means campaigning on, not leading', async (t) => {
  const api = nock(SERVER)
    .get(LEASE_PATH)
    .reply(404, aStatus(404, 'NotFound'))
    .post(LEASES_PATH)
    .reply(409, aStatus(409, 'AlreadyExists'))
    .get(LEASE_PATH)
    .reply(200, aLease({ holder: 'zookeeper-operator-other_1234', resourceVersion: '3' }));
  const { elector, clock, transitions } = anElector();
  void elector.run();
  await eventually(() => api.pendingMocks().length === 1 && clock.pendingDelays().length === 1, 'create lost');
  await clock.advance(2_000);
  await eventually(() => api.isDone(), 'second read');
  t.false(elector.isLeader);
  t.deepEqual(transitions, []);
  await elector.stop();
});

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
  t.throws(() => anElector({ renewDeadlineMs: 20_000 }), { message: /retryPeriod < renewDeadline < leaseDuration/ });
});

test('lease times parse from strings and Dates', (t) => {
  t.is(parseLeaseTime('2026-11-25T14:00:00.123456Z'), Date.parse('2026-11-25T14:00:00.123Z'));
  t.is(parseLeaseTime(new Date(START_MS)), START_MS);
  t.is(parseLeaseTime('not a time'), undefined);
  t.is(parseLeaseTime(undefined), undefined);
});
