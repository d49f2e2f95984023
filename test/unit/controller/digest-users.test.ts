/**
 * The SASL users' Secret as the operator reviews it: refused as the start script would refuse it,
 * and fingerprinted by a key, so that the same users keep the fingerprint, any change moves it,
 * and it says nothing about a password to one without the key.
 */
import type { V1Secret } from '@kubernetes/client-node';
import test from 'ava';
import fc from 'fast-check';
import { reviewDigestUsers } from '../../../src/controller/digest-users.js';

const where = { namespace: 'zk', secretName: 'users' };
const secret = (data: Record<string, string | Buffer>): V1Secret => ({
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
});
const fingerprint = (data: Record<string, string>, key = 'k') => {
  const observed = reviewDigestUsers(secret(data), where, key);
  if (observed.kind !== 'present') throw new Error(observed.problem.message);
  return observed.fingerprint;
};

test('the users are the Secret’s keys, sorted', (t) => {
  t.like(reviewDigestUsers(secret({ b: 'x', a: 'y' }), where, 'k'), { kind: 'present', users: ['a', 'b'] });
});

test('the fingerprint depends on every user and password and on the key, not on the order of the keys', (t) => {
  fc.assert(
    fc.property(
      fc.dictionary(
        fc.stringMatching(/^[a-z]{1,8}$/),
        fc.string({ minLength: 1 }).filter((p) => !p.includes('${')),
      ),
      fc.string({ minLength: 1 }),
      (data, password) => {
        fc.pre(Object.keys(data).length > 0 && !password.includes('${'));
        const reversed = Object.fromEntries(Object.entries(data).reverse());
        const [first = ''] = Object.keys(data);
        t.is(fingerprint(reversed), fingerprint(data));
        if (data[first] !== password) t.not(fingerprint({ ...data, [first]: password }), fingerprint(data));
        t.not(fingerprint({ ...data, zzzzzzzzz: 'p' }), fingerprint(data));
        t.not(fingerprint(data, 'another key'), fingerprint(data));
      },
    ),
  );
});

const problems: { name: string; secret: V1Secret | undefined; reason: string; message: RegExp }[] = [
  {
    name: 'no Secret',
    secret: undefined,
    reason: 'DigestUsersSecretMissing',
    message: /^Secret zk\/users, which spec\.authentication\.digestUsers names, does not exist/,
  },
  { name: 'the user super', secret: secret({ super: 'x' }), reason: 'DigestUserReserved', message: /'super'/ },
  {
    name: 'an empty password',
    secret: secret({ a: '' }),
    reason: 'DigestUserInvalid',
    message: /'a': its password is empty/,
  },
  {
    name: 'a NUL byte',
    secret: secret({ a: Buffer.from([0x61, 0]) }),
    reason: 'DigestUserInvalid',
    message: /'a': its password contains a NUL byte/,
  },
];
for (const c of problems) {
  test(`${c.name} is a problem that says no member changes until it is fixed`, (t) => {
    const observed = reviewDigestUsers(c.secret, where, 'k');
    t.is(observed.kind, 'problem');
    if (observed.kind !== 'problem') return;
    t.is(observed.problem.reason, c.reason);
    t.regex(observed.problem.message, c.message);
    t.regex(observed.problem.message, /no member is restarted or changed until it is fixed$/);
  });
}
