/**
 * The certificate policy: what is issued, renewed, rolled over or dropped, from facts alone.
 * Table cases for each rule, and properties: the same input gives the same plan, and a cluster
 * reconciled at least once per renewal window never holds an expired certificate (through CA
 * rollovers and scaling), and never reissues on every pass.
 */
import test from 'ava';
import fc from 'fast-check';
import type { ResolvedTls } from '../../../src/api/defaults.js';
import {
  type CertificateInput,
  type CertificatePlan,
  membersNeedingCertificates,
  type ObservedCa,
  type ObservedMemberCertificate,
  type ObservedMemberSecret,
  planCertificates,
  renewalPoint,
  reportCertificates,
  TRUST_PROPAGATION_MS,
} from '../../../src/controller/certificates.js';
import { myidOfOrdinal, serverIdsUpTo } from '../../../src/render/names.js';
import { memberDnsNames } from '../../../src/render/tls-secrets.js';
import { type CertificateFacts, CLOCK_SKEW_ALLOWANCE_MS } from '../../../src/tls/x509.js';

const HOUR = 3_600_000;
const cluster = { name: 'example', namespace: 'default' };
const domain = 'cluster.local';
const policy: ResolvedTls['certificates'] = {
  lifetimeMs: 90 * 24 * HOUR,
  renewBeforeMs: 30 * 24 * HOUR,
  caLifetimeMs: 5 * 365 * 24 * HOUR,
  ca: { kind: 'operator' },
};
const T0 = new Date('2026-12-01T00:00:00Z');
const at = (hours: number) => new Date(T0.getTime() + hours * HOUR);

/** A certificate issued at `issued` for `lifetimeMs`, as the operator issues them. */
function facts(fingerprint: string, issued: Date, lifetimeMs: number, dnsNames: string[] = []): CertificateFacts {
  return {
    commonName: fingerprint,
    subject: `CN=${fingerprint}`,
    dnsNames,
    notBefore: new Date(issued.getTime() - CLOCK_SKEW_ALLOWANCE_MS),
    notAfter: new Date(issued.getTime() + lifetimeMs),
    fingerprint,
  };
}

const aCa = (issued = T0, fingerprint = 'ca-1'): Extract<ObservedCa, { kind: 'present' }> => ({
  kind: 'present',
  resourceVersion: '1',
  current: facts(fingerprint, issued, policy.caLifetimeMs),
  holdsKey: true,
  since: issued,
});

function aMember(
  ordinal: number,
  issued = T0,
  overrides: Partial<{ issuer: 'current' | 'previous' | 'other'; names: string[] }> = {},
): ObservedMemberCertificate {
  return {
    kind: 'present',
    facts: facts(
      `m-${ordinal}`,
      issued,
      policy.lifetimeMs,
      overrides.names ?? memberDnsNames(cluster, myidOfOrdinal(ordinal), domain),
    ),
    issuer: overrides.issuer ?? 'current',
  };
}

function memberSecret(members: Record<string, ObservedMemberCertificate>, trusted = ['ca-1']): ObservedMemberSecret {
  return { kind: 'present', resourceVersion: '1', trusted, members };
}

const threeMembers = (issued: Date | { issuer: 'current' | 'previous' | 'other' } = T0) => {
  const [at, overrides] = issued instanceof Date ? [issued, {}] : [T0, issued];
  return memberSecret({
    'example-0': aMember(0, at, overrides),
    'example-1': aMember(1, at, overrides),
    'example-2': aMember(2, at, overrides),
  });
};

function input(overrides: Partial<CertificateInput> = {}): CertificateInput {
  return {
    cluster,
    clusterDomain: domain,
    policy,
    members: serverIdsUpTo(3),
    ca: aCa(),
    memberSecret: threeMembers(),
    now: at(1),
    ...overrides,
  };
}

/** The plan as `kind ca: reason; pod: reason…; -removed; write`. */
function summary(plan: CertificatePlan): string {
  if (plan.kind === 'blocked') return `blocked ${plan.reason.code}`;
  const ca = plan.ca.kind === 'keep' ? 'keep' : `${plan.ca.kind} ${plan.ca.reason.code}`;
  const issue = plan.issue.map((step) => `${step.pod} ${step.reason.code}`);
  const remove = plan.remove.map((pod) => `-${pod}`);
  return [`ca ${ca}`, ...issue, ...remove, plan.writeMemberSecret ? 'write' : 'no write'].join('; ');
}

const cases: { name: string; input: CertificateInput; expected: string }[] = [
  {
    name: 'a cluster without a CA gets one, and every member a certificate',
    input: input({ ca: { kind: 'missing' }, memberSecret: { kind: 'missing' } }),
    expected:
      'ca create CaCreated; example-0 CertificateMissing; example-1 CertificateMissing; example-2 CertificateMissing; write',
  },
  {
    name: 'fresh certificates of the current CA: nothing to do',
    input: input(),
    expected: 'ca keep; no write',
  },
  {
    name: 'a scale-up to five issues the two new members only',
    input: input({ members: serverIdsUpTo(5) }),
    expected: 'ca keep; example-3 CertificateMissing; example-4 CertificateMissing; write',
  },
  {
    name: 'a member removed by a scale-down loses its certificate',
    input: input({ members: serverIdsUpTo(2) }),
    expected: 'ca keep; -example-2; write',
  },
  {
    name: 'a certificate with other names (another cluster domain) is reissued',
    input: input({
      memberSecret: memberSecret({
        'example-0': aMember(0, T0, { names: memberDnsNames(cluster, 1, 'old.local') }),
        'example-1': aMember(1),
        'example-2': aMember(2),
      }),
    }),
    expected: 'ca keep; example-0 NamesChanged; write',
  },
  {
    name: 'a certificate another CA signed is reissued',
    input: input({
      memberSecret: memberSecret({
        'example-0': aMember(0),
        'example-1': aMember(1, T0, { issuer: 'other' }),
        'example-2': aMember(2),
      }),
    }),
    expected: 'ca keep; example-1 IssuerChanged; write',
  },
  {
    name: 'an unreadable key store is reissued',
    input: input({
      memberSecret: memberSecret({
        'example-0': { kind: 'unusable', problem: 'x' },
        'example-1': aMember(1),
        'example-2': aMember(2),
      }),
    }),
    expected: 'ca keep; example-0 CertificateUnusable; write',
  },
  {
    name: 'just before the renewal point (two thirds of 90 days) nothing is renewed',
    input: input({ now: at(60 * 24 - 0.01) }),
    expected: 'ca keep; no write',
  },
  {
    name: 'at the renewal point every member is renewed',
    input: input({ now: at(60 * 24) }),
    expected: 'ca keep; example-0 RenewalDue; example-1 RenewalDue; example-2 RenewalDue; write',
  },
  {
    name: 'a lifetime shortened in spec replaces longer certificates at once, not when they come due',
    input: input({ policy: { ...policy, lifetimeMs: 3_600_000, renewBeforeMs: 1_200_000 }, now: at(1) }),
    expected: 'ca keep; example-0 LifetimeShortened; example-1 LifetimeShortened; example-2 LifetimeShortened; write',
  },
  {
    name: 'a trust bundle that is not the CA is rewritten, without reissuing',
    input: input({ memberSecret: { ...threeMembers(), trusted: ['someone-else'] } as ObservedMemberSecret }),
    expected: 'ca keep; write',
  },
  {
    name: 'a CA that cannot be used is replaced, and every member moves to the new one',
    input: input({
      ca: { kind: 'unusable', problem: 'its private key does not belong to its certificate', resourceVersion: '1' },
    }),
    expected: 'ca create CaReplaced; example-0 CaReplaced; example-1 CaReplaced; example-2 CaReplaced; write',
  },
  {
    name: 'a CA at two thirds of its life rolls over; members keep their certificates for now',
    input: input({ now: at((5 * 365 * 24 * 2) / 3 + 1), memberSecret: threeMembers(at((5 * 365 * 24 * 2) / 3)) }),
    expected: 'ca rollover CaRolledOver; write',
  },
  {
    name: 'during the trust overlap, certificates of the previous CA stay',
    input: input({
      ca: { ...aCa(at(100)), previous: facts('ca-0', T0, policy.caLifetimeMs) },
      memberSecret: memberSecret(
        {
          'example-0': aMember(0, at(99), { issuer: 'previous' }),
          'example-1': aMember(1, at(99), { issuer: 'previous' }),
          'example-2': aMember(2, at(99), { issuer: 'previous' }),
        },
        ['ca-1', 'ca-0'],
      ),
      now: new Date(at(100).getTime() + TRUST_PROPAGATION_MS - 1000),
    }),
    expected: 'ca keep; no write',
  },
  {
    name: 'once members trust the new CA, certificates of the previous one are reissued',
    input: input({
      ca: { ...aCa(at(100)), previous: facts('ca-0', T0, policy.caLifetimeMs) },
      memberSecret: memberSecret(
        {
          'example-0': aMember(0, at(99), { issuer: 'previous' }),
          'example-1': aMember(1, at(100.05)),
          'example-2': aMember(2, at(99), { issuer: 'previous' }),
        },
        ['ca-1', 'ca-0'],
      ),
      now: new Date(at(100).getTime() + TRUST_PROPAGATION_MS),
    }),
    expected: 'ca keep; example-0 CaRolledOver; example-2 CaRolledOver; write',
  },
  {
    name: 'the previous CA leaves the bundle once every member presented a new certificate long enough',
    input: input({
      ca: { ...aCa(at(100)), previous: facts('ca-0', T0, policy.caLifetimeMs) },
      memberSecret: memberSecret(
        { 'example-0': aMember(0, at(101)), 'example-1': aMember(1, at(101)), 'example-2': aMember(2, at(101)) },
        ['ca-1', 'ca-0'],
      ),
      now: at(102),
    }),
    expected: 'ca dropPrevious PreviousCaDropped; write',
  },
  {
    name: 'the previous CA stays while a member has just been issued',
    input: input({
      ca: { ...aCa(at(100)), previous: facts('ca-0', T0, policy.caLifetimeMs) },
      memberSecret: memberSecret(
        { 'example-0': aMember(0, at(101)), 'example-1': aMember(1, at(101)), 'example-2': aMember(2, at(102)) },
        ['ca-1', 'ca-0'],
      ),
      now: new Date(at(102).getTime() + TRUST_PROPAGATION_MS - 1000),
    }),
    expected: 'ca keep; no write',
  },
  {
    name: 'a CA Secret labelled as the operator’s but not owned by the cluster blocks issuance',
    input: input({ ca: { kind: 'notOwned', owners: 'has no owner reference to this cluster' } }),
    expected: 'blocked TlsSecretNotOwned',
  },
  {
    name: 'a member Secret the cluster does not own blocks issuance',
    input: input({ memberSecret: { kind: 'notOwned', owners: 'is owned by ZooKeeperCluster other' } }),
    expected: 'blocked TlsSecretNotOwned',
  },
];

for (const c of cases) test(c.name, (t) => t.is(summary(planCertificates(c.input)), c.expected));

test('a member certificate names the member, the headless Service and the client Service', (t) => {
  t.deepEqual(memberDnsNames(cluster, 2, domain), [
    'example-1.example-headless.default.svc',
    'example-1.example-headless.default.svc.cluster.local',
    'example-client',
    'example-client.default',
    'example-client.default.svc',
    'example-client.default.svc.cluster.local',
    'example-headless.default.svc',
    'example-headless.default.svc.cluster.local',
  ]);
});

test('a new member certificate never outlives its CA', (t) => {
  const plan = planCertificates(input({ ca: aCa(at(-5 * 365 * 24 + 24)), memberSecret: { kind: 'missing' }, now: T0 }));
  t.is(plan.kind, 'plan');
  if (plan.kind !== 'plan') return;
  // The CA rolls over here (past two thirds), so the members get the new CA's full lifetime.
  t.is(plan.ca.kind, 'rollover');
  for (const step of plan.issue) t.true(step.validity.notAfter.getTime() <= T0.getTime() + policy.lifetimeMs);
});

test('a certificate cut short by its CA renews at the same fraction of its own life', (t) => {
  const short = facts('m', T0, policy.lifetimeMs / 2);
  t.deepEqual(
    renewalPoint(short, policy.renewBeforeMs, policy.lifetimeMs),
    new Date(T0.getTime() + policy.lifetimeMs / 3),
  );
});

test('voters and observers get certificates; members beyond the spec keep theirs while their pods exist', (t) => {
  t.deepEqual(
    membersNeedingCertificates(
      { replicas: 3, observers: 1 },
      ['example-0', 'example-4', 'example-observer-2', 'other-7'],
      'example',
    ),
    [1, 2, 3, 5, 101, 103],
  );
});

test('an observer’s certificate names the observer’s own pod', (t) => {
  t.true(
    memberDnsNames(cluster, 101, domain).includes('example-observer-0.example-headless.default.svc.cluster.local'),
  );
});

test('the status lists the CA first, then each member by server id, with expiry and renewal point', (t) => {
  const report = reportCertificates(input({ members: serverIdsUpTo(3) }));
  t.deepEqual(
    report.status.certificates?.map((c) => `${c.name} ${c.secret} ${c.notAfter} ${c.renewAt}`),
    [
      'ca example-ca 2031-11-30T00:00:00.000Z 2030-03-31T16:00:00.000Z',
      'example-0 example-tls 2027-03-01T00:00:00.000Z 2027-01-30T00:00:00.000Z',
      'example-1 example-tls 2027-03-01T00:00:00.000Z 2027-01-30T00:00:00.000Z',
      'example-2 example-tls 2027-03-01T00:00:00.000Z 2027-01-30T00:00:00.000Z',
    ],
  );
  t.is(report.condition.status, 'False');
  t.is(report.condition.reason, 'CertificatesCurrent');
  t.deepEqual(report.earliestExpiry, new Date('2027-03-01T00:00:00.000Z'));
});

test('a certificate past the middle of its renewal window sets CertificateExpiringSoon, naming it', (t) => {
  const stillFine = reportCertificates(input({ now: at(75 * 24 - 1) }));
  t.is(stillFine.condition.status, 'False');
  const overdue = reportCertificates(input({ now: at(75 * 24) }));
  t.is(overdue.condition.status, 'True');
  t.is(overdue.condition.reason, 'RenewalOverdue');
  t.regex(overdue.condition.message, /example-0 \(example-tls\) expires at 2027-03-01T00:00:00.000Z/);
});

// Properties -------------------------------------------------------------------------------------

const inputArbitrary = fc.record({
  replicas: fc.integer({ min: 1, max: 7 }),
  hoursIn: fc.integer({ min: 0, max: 5 * 365 * 24 }),
  caAge: fc.integer({ min: 0, max: 5 * 365 * 24 }),
  memberAges: fc.array(fc.option(fc.integer({ min: 0, max: 100 * 24 })), { maxLength: 7 }),
  previous: fc.boolean(),
});

test('property: the same input gives the same plan', (t) => {
  fc.assert(
    fc.property(inputArbitrary, ({ replicas, hoursIn, caAge, memberAges, previous }) => {
      const now = at(hoursIn);
      const members: Record<string, ObservedMemberCertificate> = {};
      memberAges.forEach((age, ordinal) => {
        if (age !== null) members[`example-${ordinal}`] = aMember(ordinal, at(hoursIn - age));
      });
      const ca = {
        ...aCa(at(hoursIn - caAge)),
        ...(previous ? { previous: facts('ca-0', at(hoursIn - caAge - 1000), policy.caLifetimeMs) } : {}),
      };
      const made = () =>
        input({
          members: serverIdsUpTo(replicas),
          ca,
          memberSecret: memberSecret(members),
          now,
        });
      t.deepEqual(planCertificates(made()), planCertificates(made()));
    }),
  );
});

/** A cluster's certificates as a simulated operator keeps them, taking each plan as the act layer does. */
interface World {
  ca: Extract<ObservedCa, { kind: 'present' }> | { kind: 'missing' };
  members: Map<string, ObservedMemberCertificate & { kind: 'present' }>;
  trusted: string[];
  serial: number;
}

function take(world: World, plan: CertificatePlan, now: Date, external?: CertificateFacts): void {
  if (plan.kind !== 'plan') throw new Error('blocked');
  const newCa = (validity: { notBefore: Date; notAfter: Date }) =>
    external ?? {
      commonName: 'ca',
      subject: `CN=ca ${world.serial}`,
      dnsNames: [],
      ...validity,
      fingerprint: `ca-${world.serial++}`,
    };
  const step = plan.ca;
  if (step.kind === 'create') {
    world.ca = {
      kind: 'present',
      resourceVersion: '1',
      current: newCa(step.validity),
      holdsKey: !external,
      since: now,
    };
    for (const member of world.members.values()) member.issuer = 'other';
  } else if (step.kind === 'rollover' && world.ca.kind === 'present') {
    world.ca = {
      kind: 'present',
      resourceVersion: '1',
      current: newCa(step.validity),
      previous: world.ca.current,
      holdsKey: !external,
      since: now,
    };
    for (const member of world.members.values()) member.issuer = member.issuer === 'current' ? 'previous' : 'other';
  } else if (step.kind === 'dropPrevious' && world.ca.kind === 'present') {
    world.ca = { ...world.ca, previous: undefined };
    for (const member of world.members.values()) if (member.issuer === 'previous') member.issuer = 'other';
  }
  for (const issued of plan.issue) {
    world.members.set(issued.pod, {
      kind: 'present',
      issuer: 'current',
      facts: {
        commonName: issued.pod,
        subject: `CN=${issued.pod}`,
        dnsNames: issued.dnsNames,
        ...issued.validity,
        fingerprint: `m-${world.serial++}`,
      },
    });
  }
  for (const pod of plan.remove) world.members.delete(pod);
  if (world.ca.kind === 'present' && plan.writeMemberSecret) {
    world.trusted = [world.ca.current.fingerprint, ...(world.ca.previous ? [world.ca.previous.fingerprint] : [])];
  }
}

test('property: reconciled at least once per renewal window, no certificate ever expires, and a plan once taken is done', (t) => {
  fc.assert(
    fc.property(
      fc
        .record({
          lifetimeH: fc.integer({ min: 1, max: 200 }),
          renewShare: fc.double({ min: 0.01, max: 0.99, noNaN: true }),
          caFactor: fc.integer({ min: 3, max: 6 }),
        })
        .chain(({ lifetimeH, renewShare, caFactor }) => {
          const lifetimeMs = lifetimeH * HOUR;
          const renewBeforeMs = Math.max(
            5 * 60_000,
            Math.min(lifetimeMs - 30_000, Math.floor(lifetimeMs * renewShare)),
          );
          return fc.record({
            tls: fc.constant({
              lifetimeMs,
              renewBeforeMs,
              caLifetimeMs: caFactor * lifetimeMs,
              ca: { kind: 'operator' } as const,
            }),
            // Gaps between passes up to (nearly) the renewal window, at least a second, mostly long
            // ones so that runs live through CA rollovers.
            gaps: fc.array(
              fc.oneof(
                { weight: 1, arbitrary: fc.integer({ min: 1000, max: Math.floor(renewBeforeMs * 0.95) }) },
                {
                  weight: 4,
                  arbitrary: fc.integer({
                    min: Math.floor(renewBeforeMs * 0.5),
                    max: Math.floor(renewBeforeMs * 0.95),
                  }),
                },
              ),
              { minLength: 20, maxLength: 300 },
            ),
            replicas: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 300 }),
          });
        }),
      ({ tls, gaps, replicas }) => simulate(tls, gaps, replicas),
    ),
    { numRuns: 300 },
  );
  t.pass();
});

/**
 * Passes `gaps` apart over a simulated cluster of `replicas[i]` members; throws naming the first
 * broken promise. With `userCaChanges`, the CA is the user's: a new one (valid for caLifetime)
 * replaces it in its Secret before the pass of each of those indices.
 */
function simulate(
  tls: ResolvedTls['certificates'],
  gaps: readonly number[],
  replicas: readonly number[],
  userCaChanges?: ReadonlySet<number>,
): void {
  const world: World = { ca: { kind: 'missing' }, members: new Map(), trusted: [], serial: 0 };
  let now = T0;
  let userCa: CertificateFacts | undefined;
  gaps.forEach((gap, index) => {
    const count = replicas[index % replicas.length] ?? 3;
    // The user replaces the CA at two thirds of its life, and whenever else they like.
    const due = userCa !== undefined && now >= new Date(userCa.notAfter.getTime() - tls.caLifetimeMs / 3);
    if (userCaChanges !== undefined && (userCa === undefined || due || userCaChanges.has(index))) {
      userCa = facts(`user-ca-${world.serial++}`, now, tls.caLifetimeMs);
    }
    const external = userCa === undefined ? undefined : { kind: 'present' as const, secret: 'user-ca', facts: userCa };
    const pass = (): CertificatePlan =>
      planCertificates({
        cluster,
        clusterDomain: domain,
        policy: tls,
        members: serverIdsUpTo(count),
        ca: world.ca,
        externalCa: external,
        memberSecret:
          world.ca.kind === 'missing'
            ? { kind: 'missing' }
            : {
                kind: 'present',
                resourceVersion: '1',
                trusted: world.trusted,
                members: Object.fromEntries(world.members),
              },
        now,
      });
    take(world, pass(), now, userCa);
    // Taken, the plan is done: the same moment asks for nothing more (no reissue loop).
    const again = summary(pass());
    if (again !== 'ca keep; no write') throw new Error(`a second pass at ${now.toISOString()} still plans: ${again}`);
    const next = new Date(now.getTime() + gap);
    // Everything the members hold or trust is valid now and until the next pass.
    if (world.ca.kind !== 'present') throw new Error('no CA after a pass');
    if (world.ca.current.notAfter <= next) throw new Error(`the CA expires before ${next.toISOString()}`);
    if (world.members.size !== count) throw new Error(`${world.members.size} certificates for ${count} members`);
    for (const [pod, member] of world.members) {
      if (member.facts.notAfter <= next) throw new Error(`${pod} expires before the next pass`);
      if (member.issuer === 'other') throw new Error(`${pod} is not signed by a CA the members trust`);
    }
    now = next;
  });
}

// A CA of the user's (caSecretName) or of cert-manager's (issuerRef) ------------------------------

const userCaPolicy: ResolvedTls['certificates'] = { ...policy, ca: { kind: 'secret', secretName: 'user-ca' } };
const userCa = (fingerprint = 'user-ca-1', issued = T0, lifetimeMs = 2 * 365 * 24 * HOUR) =>
  ({ kind: 'present', secret: 'user-ca', facts: facts(fingerprint, issued, lifetimeMs) }) as const;
const keylessCa = (fingerprint: string, previous?: CertificateFacts): Extract<ObservedCa, { kind: 'present' }> => ({
  ...aCa(T0, fingerprint),
  holdsKey: false,
  ...(previous === undefined ? {} : { previous }),
});

test('a CA Secret that is missing or cannot sign blocks every issuance, naming the Secret and what is wrong', (t) => {
  const missing = planCertificates(input({ policy: userCaPolicy, externalCa: { kind: 'missing', secret: 'user-ca' } }));
  t.is(summary(missing), 'blocked CaSecretMissing');
  t.regex(
    missing.kind === 'blocked' ? missing.reason.message : '',
    /Secret user-ca, named in spec.tls.certificates.caSecretName, does not exist/,
  );
  const waiting = planCertificates(
    input({
      policy: userCaPolicy,
      externalCa: {
        kind: 'missing',
        secret: 'example-issued-ca',
        waiting: 'Certificate example-ca is not ready: Pending',
      },
    }),
  );
  t.regex(
    waiting.kind === 'blocked' ? waiting.reason.message : '',
    /example-issued-ca does not exist yet: Certificate example-ca is not ready/,
  );
  const unusable = planCertificates(
    input({
      policy: userCaPolicy,
      externalCa: { kind: 'unusable', secret: 'user-ca', problem: 'its certificate is not a CA' },
    }),
  );
  t.is(summary(unusable), 'blocked CaSecretUnusable');
  t.regex(
    unusable.kind === 'blocked' ? unusable.reason.message : '',
    /user-ca cannot sign .*: its certificate is not a CA/,
  );
});

test('a new cluster is issued under the user’s CA at once, each certificate ending no later than that CA', (t) => {
  const shortCa = userCa('user-ca-1', T0, 10 * 24 * HOUR);
  const plan = planCertificates(
    input({ policy: userCaPolicy, ca: { kind: 'missing' }, memberSecret: { kind: 'missing' }, externalCa: shortCa }),
  );
  if (plan.kind !== 'plan') return t.fail('blocked');
  t.is(plan.ca.kind, 'create');
  t.deepEqual(plan.ca.kind === 'create' ? plan.ca.validity.notAfter : undefined, shortCa.facts.notAfter);
  t.is(plan.issue.length, 3);
  for (const step of plan.issue) t.deepEqual(step.validity.notAfter, shortCa.facts.notAfter);
});

test('the user’s CA in use: nothing to do', (t) => {
  const plan = planCertificates(
    input({
      policy: userCaPolicy,
      ca: keylessCa('user-ca-1'),
      externalCa: userCa(),
      memberSecret: memberSecret({ 'example-0': aMember(0), 'example-1': aMember(1), 'example-2': aMember(2) }, [
        'user-ca-1',
      ]),
    }),
  );
  t.is(summary(plan), 'ca keep; no write');
});

test('a new CA in the user’s Secret rolls over: both trusted, members move once the new one has propagated', (t) => {
  const start = planCertificates(input({ policy: userCaPolicy, ca: aCa(), externalCa: userCa('user-ca-2', at(1)) }));
  if (start.kind !== 'plan') return t.fail('blocked');
  t.is(start.ca.kind, 'rollover');
  t.regex(start.ca.kind === 'rollover' ? start.ca.reason.message : '', /Secret user-ca holds another CA \(user-ca-2/);
  t.deepEqual(start.issue, [], 'no member moves before the members trust the new CA');
  const moved = (hours: number) =>
    planCertificates(
      input({
        policy: userCaPolicy,
        // The user's CA was issued long before; it entered the bundle at hour 1.
        ca: { ...keylessCa('user-ca-2', aCa().current), since: at(1) },
        externalCa: userCa('user-ca-2', at(1)),
        memberSecret: threeMembers({ issuer: 'previous' }),
        now: at(hours),
      }),
    );
  const early = moved(1);
  t.deepEqual(early.kind === 'plan' ? early.issue : ['blocked'], []);
  const late = moved(1 + TRUST_PROPAGATION_MS / HOUR);
  t.deepEqual(late.kind === 'plan' ? late.issue.map((step) => step.reason.code) : ['blocked'], [
    'CaRolledOver',
    'CaRolledOver',
    'CaRolledOver',
  ]);
});

test('a second new CA during an overlap rolls over at once, and members of the oldest CA are issued anew right away', (t) => {
  const plan = planCertificates(
    input({
      policy: userCaPolicy,
      ca: keylessCa('user-ca-2', aCa().current),
      externalCa: userCa('user-ca-3', at(1)),
      memberSecret: threeMembers({ issuer: 'previous' }),
    }),
  );
  if (plan.kind !== 'plan') return t.fail('blocked');
  t.is(plan.ca.kind, 'rollover');
  t.deepEqual(
    plan.issue.map((step) => step.reason.code),
    ['IssuerChanged', 'IssuerChanged', 'IssuerChanged'],
  );
});

test('spec back on the operator’s own CA: a new one rolls over from the keyless one, with the overlap', (t) => {
  const plan = planCertificates(input({ ca: keylessCa('user-ca-1') }));
  if (plan.kind !== 'plan') return t.fail('blocked');
  t.is(plan.ca.kind, 'rollover');
  t.deepEqual(plan.issue, []);
});

test('the status names the Secret of the user’s CA and its renewal point at two thirds of its own life', (t) => {
  const external = userCa('user-ca-1', T0, 300 * HOUR);
  const report = reportCertificates(
    input({ policy: userCaPolicy, ca: { ...keylessCa('user-ca-1'), current: external.facts }, externalCa: external }),
  );
  const ca = report.status.certificates?.[0];
  t.is(ca?.name, 'ca');
  t.is(ca?.secret, 'user-ca');
  t.is(ca?.renewAt, at(200).toISOString());
});

test('property: with the user’s CA replaced at any passes, no certificate expires and every member stays signed by a trusted CA', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 50 }),
      // Passes at least once per renewal window (the shortest lifetime's is 6h40m).
      fc.array(fc.integer({ min: 60_000, max: 6 * HOUR }), { minLength: 20, maxLength: 200 }),
      fc.uniqueArray(fc.integer({ min: 0, max: 199 }), { maxLength: 20 }),
      fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 50 }),
      (lifetimeH, gaps, changes, replicas) => {
        const lifetimeMs = lifetimeH * 10 * HOUR;
        const tls = {
          lifetimeMs,
          renewBeforeMs: Math.floor(lifetimeMs / 3),
          caLifetimeMs: 3 * lifetimeMs,
          ca: { kind: 'secret', secretName: 'user-ca' } as const,
        };
        simulate(tls, gaps, replicas, new Set(changes));
      },
    ),
    { numRuns: 200 },
  );
  t.pass();
});

test('a new CA with the subject of one members trust is refused, naming the Secret: ZooKeeper would trust only one of them', (t) => {
  const reused = {
    ...userCa('user-ca-2', at(1)),
    facts: { ...userCa('user-ca-2', at(1)).facts, subject: 'CN=user-ca-1' },
  };
  const plan = planCertificates(input({ policy: userCaPolicy, ca: keylessCa('user-ca-1'), externalCa: reused }));
  t.is(summary(plan), 'blocked CaSubjectReused');
  t.regex(
    plan.kind === 'blocked' ? plan.reason.message : '',
    /Secret user-ca holds a new CA with the subject of a CA members trust now \(CN=user-ca-1\)/,
  );
  // The CA in use, or one with a subject of its own, goes on as before.
  t.is(
    summary(
      planCertificates(input({ policy: userCaPolicy, ca: keylessCa('user-ca-1'), externalCa: userCa('user-ca-1') })),
    ).split(';')[0],
    'ca keep',
  );
});
