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
  const signingKey = await importSigningKey(authority.privateKeyPem);
  const keys = await generateKeys();
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${options.commonName}`,
    issuer: issuer.subject,
    notBefore: options.notBefore,
    notAfter: options.notAfter,
    publicKey: keys.publicKey,
    signingKey,
    signingAlgorithm: SIGNING_ALGORITHM,
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

async function importSigningKey(pem: string): Promise<webcrypto.CryptoKey> {
  const [der] = x509.PemConverter.decode(pem);
  if (der === undefined) throw new Error('the CA private key is not PEM');
  return globalThis.crypto.subtle.importKey('pkcs8', der, KEY_ALGORITHM, false, ['sign']);
}

/** 16 random bytes with the top bit clear: a positive serial, as RFC 5280 asks. */
function randomSerial(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return Buffer.from(bytes).toString('hex');
}
