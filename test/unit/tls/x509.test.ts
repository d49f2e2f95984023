/**
 * The crypto edge with a CA of the user's: RSA or ECDSA, a PKCS#1 or SEC1 key as cert-manager
 * writes them, an intermediate of a root; and the reasons a certificate cannot be a CA here.
 */
import 'reflect-metadata';
import { createPrivateKey, type webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import test from 'ava';
import { authorityProblem, issueCertificate, type KeyedCertificate } from '../../../src/tls/x509.js';

const RSA = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
};
const P384 = { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' };
const notBefore = new Date(Date.now() - 60_000);
const notAfter = new Date(Date.now() + 24 * 3_600_000);

async function keys(algorithm: typeof RSA | typeof P384): Promise<webcrypto.CryptoKeyPair> {
  return (await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

/** A CA of `algorithm` under a root of the same, its key in `keyType` encoding; `extensions` replace a CA's. */
async function userCa(
  algorithm: typeof RSA | typeof P384,
  keyType: 'pkcs1' | 'sec1' | 'pkcs8',
  extensions?: x509.Extension[],
): Promise<KeyedCertificate & { root: string }> {
  const rootKeys = await keys(algorithm);
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=Org Root, O=Example',
    notBefore,
    notAfter,
    keys: rootKeys,
    signingAlgorithm: algorithm,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  const caKeys = await keys(algorithm);
  const ca = await x509.X509CertificateGenerator.create({
    serialNumber: '02',
    subject: 'CN=ZooKeeper Intermediate, O=Example',
    issuer: root.subjectName,
    notBefore,
    notAfter,
    publicKey: caKeys.publicKey,
    signingKey: rootKeys.privateKey,
    signingAlgorithm: algorithm,
    extensions: extensions ?? [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  const der = Buffer.from(await crypto.subtle.exportKey('pkcs8', caKeys.privateKey));
  const privateKeyPem = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({
    type: keyType,
    format: 'pem',
  }) as string;
  const rootPem = `${root.toString('pem')}\n`;
  return { certificatePem: `${ca.toString('pem')}\n${rootPem}`, privateKeyPem, root: rootPem };
}

for (const [name, algorithm, keyType] of [
  ['RSA, PKCS#1', RSA, 'pkcs1'],
  ['ECDSA P-384, SEC1', P384, 'sec1'],
] as const) {
  test(`an intermediate CA of the user’s (${name}) issues member certificates that verify against it and chain to its root`, async (t) => {
    const authority = await userCa(algorithm, keyType);
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
    t.true(ca.verify(new X509Certificate(authority.root).publicKey));
  });
}

test('a certificate that is no CA, may not sign, or whose key is another’s is refused, saying why', async (t) => {
  const leafLike = await userCa(P384, 'pkcs8', [new x509.BasicConstraintsExtension(false, undefined, true)]);
  t.regex(authorityProblem(leafLike) ?? '', /not a CA that may sign/);
  const noCertSign = await userCa(P384, 'pkcs8', [
    new x509.BasicConstraintsExtension(true, 0, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
  ]);
  t.regex(authorityProblem(noCertSign) ?? '', /keyCertSign in keyUsage/);
  const other = await userCa(P384, 'sec1');
  t.regex(authorityProblem({ ...other, privateKeyPem: leafLike.privateKeyPem }) ?? '', /does not belong/);
});
