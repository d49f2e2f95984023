/**
 * The crypto edge with a CA of the user's: RSA or ECDSA, a PKCS#1 or SEC1 key as cert-manager
 * writes them, an intermediate of a root; and the reasons a certificate cannot be a CA here.
 */
import 'reflect-metadata';
import { X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import test from 'ava';
import { authorityProblem, issueCertificate } from '../../../src/tls/x509.js';
import { P384, RSA, userCa } from '../../support/user-pki.js';

const notBefore = new Date(Date.now() - 60_000);
const notAfter = new Date(Date.now() + 24 * 3_600_000);

for (const [name, algorithm, keyType] of [
  ['RSA, PKCS#1', RSA, 'pkcs1'],
  ['ECDSA P-384, SEC1', P384, 'sec1'],
] as const) {
  test(`an intermediate CA of the user’s (${name}) issues member certificates that verify against it and chain to its root`, async (t) => {
    const authority = await userCa({ algorithm, keyType });
    t.is(authorityProblem(authority), undefined);
    const member = await issueCertificate(authority, {
      commonName: 'zk-0',
      dnsNames: ['zk-0.zk-headless.default.svc.cluster.local'],
      notBefore,
      notAfter,
    });
    const issued = new X509Certificate(member.certificatePem);
    const ca = new X509Certificate(authority.certificatePem);
    t.true(issued.checkIssued(ca), 'the issuer name is the CA’s subject, as encoded in the CA');
    t.true(issued.verify(ca.publicKey));
    t.true(ca.verify(new X509Certificate(authority.rootPem).publicKey));
  });
}

test('a certificate that is no CA, may not sign, or whose key is another’s is refused, saying why', async (t) => {
  const leafLike = await userCa({
    algorithm: P384,
    keyType: 'pkcs8',
    extensions: [new x509.BasicConstraintsExtension(false, undefined, true)],
  });
  t.regex(authorityProblem(leafLike) ?? '', /not a CA that may sign/);
  const noCertSign = await userCa({
    algorithm: P384,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    ],
  });
  t.regex(authorityProblem(noCertSign) ?? '', /keyCertSign in keyUsage/);
  const other = await userCa({ algorithm: P384 });
  t.regex(authorityProblem({ ...other, privateKeyPem: leafLike.privateKeyPem }) ?? '', /does not belong/);
});
