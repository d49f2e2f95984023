import test from 'ava';
import fc from 'fast-check';
import {
  generateSuperPassword,
  superAuth,
  superDigest,
  superDigestJvmFlag,
} from '../../../src/zookeeper/super-digest.js';

test('the digest of super:secret is the one DigestAuthenticationProvider prints', (t) => {
  t.is(superDigest('secret'), 'super:lK75jTNcA+U9vtVEw5vB51mj/w4=');
});

test('the JVM flag carries the digest in the superDigest property', (t) => {
  t.is(
    superDigestJvmFlag('secret'),
    '-Dzookeeper.DigestAuthenticationProvider.superDigest=super:lK75jTNcA+U9vtVEw5vB51mj/w4=',
  );
});

test('the auth string for add_auth is super:<password>', (t) => {
  t.is(superAuth('secret'), 'super:secret');
});

test('an empty password is refused', (t) => {
  t.throws(() => superDigest(''), { message: /empty/ });
});

test('generated passwords are long, distinct and free of separators', (t) => {
  const passwords = Array.from({ length: 50 }, generateSuperPassword);
  t.is(new Set(passwords).size, passwords.length);
  for (const password of passwords) t.regex(password, /^[A-Za-z0-9_-]{43}$/);
});

test('property: the digest is super: plus a 28-character base64 SHA-1', (t) => {
  fc.assert(
    fc.property(fc.string({ minLength: 1 }), (password) => /^super:[A-Za-z0-9+/]{27}=$/.test(superDigest(password))),
  );
  t.pass('fc.assert throws on a counterexample');
});
