/**
 * The crypto edge of the cluster certificates: generating ECDSA P-256 keys, self-signing a
 * cluster's CA, issuing a member or client certificate under it (with @peculiar/x509 over
 * WebCrypto; no hand-written ASN.1), and reading a PEM certificate back into plain facts (with
 * node:crypto).
 *
 * Output is what ZooKeeper's PEM key and trust stores read (`ssl.keyStore.type=PEM`,
 * `ssl.trustStore.type=PEM`): unencrypted PKCS#8 `PRIVATE KEY` blocks and X.509 `CERTIFICATE`
 * blocks. Private keys exist here only as the PEM text handed back to the caller, which puts it
 * in a Secret; nothing here logs.
 *
 * Not pure (random keys and serial numbers), so the decisions (`controller/certificates.ts`) never
 * call it: they take the facts `readCertificate` gives and say what to issue.
 */
import 'reflect-metadata';
import { createPrivateKey, X509Certificate as NodeCertificate, type webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/** A certificate and the private key of its subject, both PEM. */
export interface KeyedCertificate {
  certificatePem: string;
  privateKeyPem: string;
}

/** What a decision needs to know about a certificate. */
export interface CertificateFacts {
  /** The subject's common name. */
  commonName: string;
  /** The whole subject, one attribute per line (`CN=…`): ZooKeeper's PEM trust store keeps one certificate per subject. */
  subject: string;
  /** DNS subject alternative names, sorted. */
  dnsNames: string[];
  notBefore: Date;
  notAfter: Date;
  /** SHA-256 fingerprint, `AA:BB:…`. */
  fingerprint: string;
}

/**
 * How far a new certificate's notBefore lies before the moment it is issued, so that a peer
 * whose clock runs a little behind the operator's accepts it at once. Decisions count a
 * certificate's life from notBefore plus this.
 */
export const CLOCK_SKEW_ALLOWANCE_MS = 60_000;

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;

/**
 * How a CA's key signs, by its type: the operator's own CAs are ECDSA P-256; a user's CA (a Secret
 * the spec names, or one cert-manager issues) may also be RSA or another NIST curve. The hash
 * grows with the curve, as RFC 5480 recommends.
 */
type SigningAlgorithm =
  | { name: 'ECDSA'; namedCurve: string; hash: string }
  | { name: 'RSASSA-PKCS1-v1_5'; hash: string };

const ECDSA_HASHES: Readonly<Record<string, string>> = {
  prime256v1: 'SHA-256',
  secp384r1: 'SHA-384',
  secp521r1: 'SHA-512',
};
const WEBCRYPTO_CURVES: Readonly<Record<string, string>> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
};

x509.cryptoProvider.set(globalThis.crypto);

/** A self-signed CA that may sign end-entity certificates only (path length 0). */
export async function createCertificateAuthority(options: {
  commonName: string;
  notBefore: Date;
  notAfter: Date;
}): Promise<KeyedCertificate> {
  const keys = await generateKeys();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [options.commonName] }],
    notBefore: options.notBefore,
    notAfter: options.notAfter,
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificatePem: `${certificate.toString('pem')}\n`, privateKeyPem: await privateKeyPem(keys.privateKey) };
}

/**
 * A member certificate signed by `authority`: for servers and clients both (quorum TLS is mutual),
 * with the given DNS names as subject alternative names.
 */
export function issueCertificate(
  authority: KeyedCertificate,
  options: { commonName: string; dnsNames: readonly string[]; notBefore: Date; notAfter: Date },
): Promise<KeyedCertificate> {
  return issue(authority, options, [
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
    new x509.SubjectAlternativeNameExtension(options.dnsNames.map((value) => ({ type: 'dns' as const, value }))),
  ]);
}

/**
 * A client-only certificate signed by `authority`, naming no host: what the operator presents to
 * members' secure client ports (ZooKeeper verifies a client's chain there, not its host name).
 */
export function issueClientCertificate(
  authority: KeyedCertificate,
  options: { commonName: string; notBefore: Date; notAfter: Date },
): Promise<KeyedCertificate> {
  return issue(authority, options, [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])]);
}

async function issue(
  authority: KeyedCertificate,
  options: { commonName: string; notBefore: Date; notAfter: Date },
  usage: readonly x509.Extension[],
): Promise<KeyedCertificate> {
  const issuer = new x509.X509Certificate(authority.certificatePem);
  const algorithm = signingAlgorithmOf(authority.privateKeyPem);
  const signingKey = await importSigningKey(authority.privateKeyPem, algorithm);
  const keys = await generateKeys();
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${options.commonName}`,
    // The issuer's name as encoded in its certificate: a re-encoded string could differ in its
    // string types, and a strict verifier would not chain the two.
    issuer: issuer.subjectName,
    notBefore: options.notBefore,
    notAfter: options.notAfter,
    publicKey: keys.publicKey,
    signingKey,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      ...usage,
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuer),
    ],
  });
  return { certificatePem: `${certificate.toString('pem')}\n`, privateKeyPem: await privateKeyPem(keys.privateKey) };
}

/** The facts of the first certificate in `pem`; throws when there is none or it does not parse. */
export function readCertificate(pem: string): CertificateFacts {
  const certificate = new NodeCertificate(pem);
  return {
    commonName: /(?:^|\n)CN=([^\n]*)/.exec(certificate.subject)?.[1] ?? '',
    subject: certificate.subject,
    dnsNames: (certificate.subjectAltName ?? '')
      .split(', ')
      .filter((name) => name.startsWith('DNS:'))
      .map((name) => name.slice('DNS:'.length))
      .sort(),
    notBefore: certificate.validFromDate,
    notAfter: certificate.validToDate,
    fingerprint: certificate.fingerprint256,
  };
}

/** Whether the first certificate in `certificatePem` was signed by the first one in `authorityPem`. */
export function isIssuedBy(certificatePem: string, authorityPem: string): boolean {
  const certificate = new NodeCertificate(certificatePem);
  const authority = new NodeCertificate(authorityPem);
  return certificate.checkIssued(authority) && certificate.verify(authority.publicKey);
}

/** Whether the private key in `privateKeyPem` belongs to the first certificate in `certificatePem`. */
export function keyMatches(certificatePem: string, privateKeyPem: string): boolean {
  return new NodeCertificate(certificatePem).checkPrivateKey(createPrivateKey(privateKeyPem));
}

/** The PEM blocks of one type in `pem`, in order (`CERTIFICATE` or `PRIVATE KEY`). */
export function pemBlocks(pem: string, type: 'CERTIFICATE' | 'PRIVATE KEY'): string[] {
  const pattern = new RegExp(`-----BEGIN ${type}-----[A-Za-z0-9+/=\\s]+?-----END ${type}-----`, 'g');
  return [...pem.matchAll(pattern)].map((match) => `${match[0]}\n`);
}

async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return (await globalThis.crypto.subtle.generateKey(KEY_ALGORITHM, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
}

async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await globalThis.crypto.subtle.exportKey('pkcs8', key);
  return `${x509.PemConverter.encode(der, 'PRIVATE KEY')}\n`;
}

/** How the key in `pem` signs; throws for a key type a CA here cannot have. */
function signingAlgorithmOf(pem: string): SigningAlgorithm {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType === 'rsa') return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
  const namedCurve = WEBCRYPTO_CURVES[curve];
  const hash = ECDSA_HASHES[curve];
  if (key.asymmetricKeyType === 'ec' && namedCurve !== undefined && hash !== undefined) {
    return { name: 'ECDSA', namedCurve, hash };
  }
  throw new Error(
    `a CA key of type ${key.asymmetricKeyType ?? 'unknown'}${curve === '' ? '' : ` (${curve})`} cannot sign here: use RSA or ECDSA on P-256, P-384 or P-521`,
  );
}

/** Imports a PKCS#8, PKCS#1 (RSA) or SEC1 (EC) private key: cert-manager writes PKCS#1 and SEC1 by default. */
function importSigningKey(pem: string, algorithm: SigningAlgorithm): Promise<webcrypto.CryptoKey> {
  const der = createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
  return globalThis.crypto.subtle.importKey('pkcs8', der, algorithm, false, ['sign']);
}

/**
 * Why the certificate and key in `authority` cannot sign member certificates, or undefined when
 * they can: the certificate is a CA allowed to sign certificates, the key is its own and of a
 * type that signs here.
 */
export function authorityProblem(authority: KeyedCertificate): string | undefined {
  const certificate = new NodeCertificate(authority.certificatePem);
  // OpenSSL's check: basicConstraints CA:TRUE, and keyCertSign where a keyUsage is given.
  if (!certificate.ca) {
    return 'its certificate is not a CA that may sign certificates (it needs basicConstraints CA:TRUE, and keyCertSign in keyUsage if it has one)';
  }
  if (!certificate.checkPrivateKey(createPrivateKey(authority.privateKeyPem))) {
    return 'its private key does not belong to its certificate';
  }
  try {
    signingAlgorithmOf(authority.privateKeyPem);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  return undefined;
}

/** 16 random bytes with the top bit clear: a positive serial, as RFC 5280 asks. */
function randomSerial(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return Buffer.from(bytes).toString('hex');
}
