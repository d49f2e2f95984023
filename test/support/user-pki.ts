/**
 * A user's own PKI, as a CA Secret named in `spec.tls.certificates.caSecretName` holds it: an
 * intermediate CA under an organisation's root, RSA or ECDSA, its key in the encoding cert-manager
 * and openssl write (PKCS#1, SEC1) or PKCS#8. Built with @peculiar/x509, as the operator's own CA.
 */
import 'reflect-metadata';
import { createPrivateKey, type webcrypto } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import * as x509 from '@peculiar/x509';
import type { KeyedCertificate } from '../../src/tls/x509.js';

export const RSA = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
} as const;
export const P384 = { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' } as const;
type Algorithm = typeof RSA | typeof P384;

export interface UserCa extends KeyedCertificate {
  /** The organisation's root, PEM: `certificatePem` is the intermediate followed by it. */
  rootPem: string;
  /** The intermediate alone. */
  caPem: string;
  /** The root with its key, for another intermediate under the same root. */
  root: { certificate: x509.X509Certificate; keys: webcrypto.CryptoKeyPair };
}

async function keys(algorithm: Algorithm): Promise<webcrypto.CryptoKeyPair> {
  return (await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

/**
 * An intermediate CA named `commonName` under a new root, valid from a minute ago for `hours`, its
 * key encoded as `keyType`. `extensions` replace the intermediate's CA extensions.
 */
export async function userCa(
  options: {
    commonName?: string;
    algorithm?: Algorithm;
    keyType?: 'pkcs1' | 'sec1' | 'pkcs8';
    hours?: number;
    extensions?: x509.Extension[];
    /** Under the root of another CA of these (default: a new root). */
    under?: UserCa;
  } = {},
): Promise<UserCa> {
  const algorithm = options.algorithm ?? RSA;
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + (options.hours ?? 24) * 3_600_000);
  const rootKeys = options.under?.root.keys ?? (await keys(algorithm));
  const root =
    options.under?.root.certificate ??
    (await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '01',
      name: 'CN=Example Org Root, O=Example',
      notBefore,
      notAfter,
      keys: rootKeys,
      signingAlgorithm: algorithm,
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
    }));
  const caKeys = await keys(algorithm);
  const ca = await x509.X509CertificateGenerator.create({
    serialNumber: Buffer.from(crypto.getRandomValues(new Uint8Array(8)))
      .toString('hex')
      .replace(/^./, '1'),
    subject: `CN=${options.commonName ?? 'ZooKeeper Intermediate'}, O=Example`,
    issuer: root.subjectName,
    notBefore,
    notAfter,
    publicKey: caKeys.publicKey,
    signingKey: rootKeys.privateKey,
    signingAlgorithm: algorithm,
    extensions: options.extensions ?? [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  const der = Buffer.from(await crypto.subtle.exportKey('pkcs8', caKeys.privateKey));
  const privateKeyPem = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({
    type: options.keyType ?? (algorithm.name === 'ECDSA' ? 'sec1' : 'pkcs1'),
    format: 'pem',
  }) as string;
  const caPem = `${ca.toString('pem')}\n`;
  const rootPem = `${root.toString('pem')}\n`;
  return {
    certificatePem: `${caPem}${rootPem}`,
    privateKeyPem,
    rootPem,
    caPem,
    root: { certificate: root, keys: rootKeys },
  };
}

/** The CA as a kubernetes.io/tls Secret, the layout `caSecretName` names. */
export function userCaSecret(namespace: string, name: string, ca: UserCa): V1Secret {
  return {
    metadata: { name, namespace },
    type: 'kubernetes.io/tls',
    data: {
      'tls.crt': Buffer.from(ca.certificatePem).toString('base64'),
      'tls.key': Buffer.from(ca.privateKeyPem).toString('base64'),
    },
  };
}
