/**
 * The operator's client credential: when one is reused and when issued (a table over the pure
 * decision), and the holder that acts on it, with real certificates: reuse by CA, reissue by
 * time, the previous CA's credential kept through a rollover until the new CA has propagated.
 */
import { X509Certificate } from 'node:crypto';
import test from 'ava';
import { TRUST_PROPAGATION_MS } from '../../../src/controller/certificates.js';
import {
  type HeldCredential,
  nextCredentialStep,
  OPERATOR_CREDENTIAL_LIFETIME_MS,
  operatorCredentials,
} from '../../../src/controller/operator-credential.js';
import {
  type CertificateFacts,
  CLOCK_SKEW_ALLOWANCE_MS,
  createCertificateAuthority,
  isIssuedBy,
  keyMatches,
  readCertificate,
} from '../../../src/tls/x509.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = new Date('2030-01-01T00:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

/** CA facts as `readCertificate` gives them, created at `createdAtMs` (its notBefore is backdated). */
function aCa(fingerprint: string, createdAtMs: number, lifetimeMs = 90 * DAY): CertificateFacts {
  return {
    commonName: `CA ${fingerprint}`,
    subject: `CN=CA ${fingerprint}`,
    dnsNames: [],
    notBefore: at(createdAtMs - CLOCK_SKEW_ALLOWANCE_MS),
    notAfter: at(createdAtMs + lifetimeMs),
    fingerprint,
  };
}

/** A credential as the holder records it, issued at `issuedAtMs` for `lifeMs`. */
function aCredential(
  caFingerprint: string,
  issuedAtMs: number,
  lifeMs = OPERATOR_CREDENTIAL_LIFETIME_MS,
): HeldCredential {
  return { caFingerprint, notBefore: at(issuedAtMs - CLOCK_SKEW_ALLOWANCE_MS), notAfter: at(issuedAtMs + lifeMs) };
}

const current = aCa('CURRENT', -30 * DAY);
const rolledOverJustNow = aCa('NEW', -60_000);
const rolledOverLongAgo = aCa('NEW', -TRUST_PROPAGATION_MS);

const cases: {
  name: string;
  held: HeldCredential[];
  ca: CertificateFacts;
  previousCa?: CertificateFacts;
  now: Date;
  expected: 'issue' | { reuse: string };
}[] = [
  { name: 'nothing held: issue', held: [], ca: current, now: T0, expected: 'issue' },
  {
    name: 'a credential of this CA with more than a third of its life left is reused',
    held: [aCredential('CURRENT', 0)],
    ca: current,
    now: at((2 * DAY) / 3 - 60_000),
    expected: { reuse: 'CURRENT' },
  },
  {
    name: 'a credential of this CA with a third of its life left is reissued',
    held: [aCredential('CURRENT', 0)],
    ca: current,
    now: at((2 * DAY) / 3),
    expected: 'issue',
  },
  {
    name: 'a credential cut short by its CA’s expiry is reissued at two thirds of its own life',
    held: [aCredential('CURRENT', 0, 3 * HOUR)],
    ca: aCa('CURRENT', -30 * DAY, 30 * DAY + 3 * HOUR),
    now: at(2 * HOUR),
    expected: 'issue',
  },
  {
    name: 'a credential of another cluster’s CA is not used',
    held: [aCredential('OTHER-CLUSTER', 0)],
    ca: current,
    now: at(HOUR),
    expected: 'issue',
  },
  {
    name: 'right after a rollover the previous CA’s credential is kept: members may not trust the new CA yet',
    held: [aCredential('CURRENT', -HOUR)],
    ca: rolledOverJustNow,
    previousCa: current,
    now: T0,
    expected: { reuse: 'CURRENT' },
  },
  {
    name: 'once the new CA has propagated, a credential of it is issued',
    held: [aCredential('CURRENT', -HOUR)],
    ca: rolledOverLongAgo,
    previousCa: current,
    now: T0,
    expected: 'issue',
  },
  {
    name: 'an expired credential of the previous CA is not kept',
    held: [aCredential('CURRENT', -DAY)],
    ca: rolledOverJustNow,
    previousCa: current,
    now: T0,
    expected: 'issue',
  },
  {
    name: 'of both, the current CA’s credential is the one reused',
    held: [aCredential('CURRENT', -HOUR), aCredential('NEW', -60_000)],
    ca: rolledOverJustNow,
    previousCa: current,
    now: T0,
    expected: { reuse: 'NEW' },
  },
];

for (const c of cases) {
  test(c.name, (t) => {
    const step = nextCredentialStep(c.held, c.ca, c.previousCa, c.now);
    if (c.expected === 'issue') t.is(step.kind, 'issue');
    else t.like(step, { kind: 'reuse', held: { caFingerprint: c.expected.reuse } });
  });
}

test('a new credential lives 24 hours, backdated for clock skew, and never beyond its CA', (t) => {
  t.like(nextCredentialStep([], current, undefined, T0), {
    kind: 'issue',
    validity: { notBefore: at(-CLOCK_SKEW_ALLOWANCE_MS), notAfter: at(DAY) },
  });
  t.like(nextCredentialStep([], aCa('ENDING', -30 * DAY, 30 * DAY + HOUR), undefined, T0), {
    kind: 'issue',
    validity: { notAfter: at(HOUR) },
  });
});

async function anAuthority(commonName: string, createdAt: Date) {
  return createCertificateAuthority({
    commonName,
    notBefore: new Date(createdAt.getTime() - CLOCK_SKEW_ALLOWANCE_MS),
    notAfter: new Date(createdAt.getTime() + 90 * DAY),
  });
}

test('the holder issues a client certificate of the CA for the operator, and reuses it until its renewal point', async (t) => {
  const now = new Date();
  const authority = await anAuthority('CA of zk/example', now);
  const issued: string[] = [];
  const credentials = operatorCredentials({ onIssued: ({ caFingerprint }) => issued.push(caFingerprint) });

  const first = await credentials.forCluster(authority, now);
  const certificate = new X509Certificate(first.cert);
  t.is(certificate.subject, 'CN=zookeeper-operator');
  t.deepEqual(certificate.keyUsage, ['1.3.6.1.5.5.7.3.2'], 'client authentication only');
  t.true(isIssuedBy(first.cert, authority.certificatePem));
  t.true(keyMatches(first.cert, first.key));
  t.is(first.ca, authority.certificatePem);

  t.is((await credentials.forCluster(authority, new Date(now.getTime() + 15 * HOUR))).cert, first.cert);
  const renewed = await credentials.forCluster(authority, new Date(now.getTime() + 17 * HOUR));
  t.not(renewed.cert, first.cert, 'reissued with less than a third of its life left');
  t.deepEqual(issued, [
    readCertificate(authority.certificatePem).fingerprint,
    readCertificate(authority.certificatePem).fingerprint,
  ]);
});

test('the holder keeps one credential per CA: each cluster gets one of its own CA', async (t) => {
  const now = new Date();
  const [a, b] = await Promise.all([anAuthority('CA of zk/a', now), anAuthority('CA of zk/b', now)]);
  const credentials = operatorCredentials();

  const ofA = await credentials.forCluster(a, now);
  const ofB = await credentials.forCluster(b, now);

  t.true(isIssuedBy(ofA.cert, a.certificatePem));
  t.true(isIssuedBy(ofB.cert, b.certificatePem));
  t.is((await credentials.forCluster(a, now)).cert, ofA.cert);
});

test('concurrent asks for one CA share one issuance', async (t) => {
  const now = new Date();
  const authority = await anAuthority('CA of zk/example', now);
  let issuances = 0;
  const credentials = operatorCredentials({ onIssued: () => issuances++ });

  const [one, two] = await Promise.all([
    credentials.forCluster(authority, now),
    credentials.forCluster(authority, now),
  ]);

  t.is(one.cert, two.cert);
  t.is(issuances, 1);
});

test('through a CA rollover: the previous CA’s credential, trusting both CAs, until the new CA has propagated', async (t) => {
  const now = new Date();
  const old = await anAuthority('CA of zk/example', new Date(now.getTime() - 30 * DAY));
  const credentials = operatorCredentials();
  const before = await credentials.forCluster(old, new Date(now.getTime() - HOUR));
  const rolled = await anAuthority('CA of zk/example (new)', now);
  const authority = { ...rolled, previousCertificatePem: old.certificatePem };

  const during = await credentials.forCluster(authority, now);
  t.is(during.cert, before.cert, 'still the previous CA’s');
  t.is(during.ca, `${rolled.certificatePem}${old.certificatePem}`, 'members of either CA are verified');

  const after = await credentials.forCluster(authority, new Date(now.getTime() + TRUST_PROPAGATION_MS));
  t.true(isIssuedBy(after.cert, rolled.certificatePem));
});
