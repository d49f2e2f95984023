/** Durations of the spec (`2160h`, `1h30m`): what the operator reads, and what it refuses as the schema does. */
import test from 'ava';
import fc from 'fast-check';
import { resolveSpec } from '../../../src/api/defaults.js';
import { DURATION_PATTERN, parseDuration } from '../../../src/api/duration.js';

const cases: [string, number][] = [
  ['2160h', 2160 * 3_600_000],
  ['1h30m', 90 * 60_000],
  ['59m30s', 3_570_000],
  ['45s', 45_000],
  ['0h0m1s', 1_000],
];
for (const [text, ms] of cases) test(`${text} is ${ms} ms`, (t) => t.is(parseDuration(text), ms));

for (const text of ['', '90d', '1.5h', '30m1h', 'h', '-1h', '1H', '1h 30m', '1234567h']) {
  test(`"${text}" is refused, by the parser and the schema's pattern alike`, (t) => {
    t.throws(() => parseDuration(text), { message: /is not a duration/ });
    t.false(text !== '' && new RegExp(DURATION_PATTERN).test(text));
  });
}

test('property: hours, minutes and seconds add up', (t) => {
  fc.assert(
    fc.property(fc.nat(999_999), fc.nat(999_999), fc.nat(999_999), (h, m, s) => {
      t.is(parseDuration(`${h}h${m}m${s}s`), h * 3_600_000 + m * 60_000 + s * 1_000);
    }),
  );
});

test('spec.tls resolves to the defaults (plaintext traffic), renewal at two thirds of a given lifetime, and nothing without tls', (t) => {
  t.is(resolveSpec({}).tls, undefined);
  t.deepEqual(resolveSpec({ tls: {} }).tls, {
    certificates: {
      lifetimeMs: 2160 * 3_600_000,
      renewBeforeMs: 720 * 3_600_000,
      caLifetimeMs: 43800 * 3_600_000,
      ca: { kind: 'operator' },
    },
    quorum: false,
    client: false,
    trustedClientCAs: undefined,
  });
  t.like(resolveSpec({ tls: { quorum: true, client: true } }).tls, { quorum: true, client: true });
  t.is(resolveSpec({ tls: { certificates: { lifetime: '3h' } } }).tls?.certificates.renewBeforeMs, 3_600_000);
  t.is(
    resolveSpec({ tls: { certificates: { lifetime: '3h', renewBefore: '10m' } } }).tls?.certificates.renewBeforeMs,
    600_000,
  );
  t.deepEqual(resolveSpec({ tls: { certificates: { caSecretName: 'our-ca' } } }).tls?.certificates.ca, {
    kind: 'secret',
    secretName: 'our-ca',
  });
  t.deepEqual(resolveSpec({ tls: { certificates: { issuerRef: { name: 'org-ca' } } } }).tls?.certificates.ca, {
    kind: 'issuer',
    issuerRef: { name: 'org-ca', kind: 'Issuer', group: 'cert-manager.io' },
  });
});
