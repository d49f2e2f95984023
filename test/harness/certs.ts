/**
 * The control plane's certificates, made with the `openssl` command line (Node's crypto
 * cannot issue X.509 certificates).
 *
 * - one certificate authority (EC P-256, 7 days) that signs the apiserver's serving
 *   certificate and every client certificate (it is the apiserver's --client-ca-file);
 * - client certificates carry the user as CN and the groups as O, which is how the
 *   apiserver's x509 authenticator reads them;
 * - the ServiceAccount token signing key pair (RSA 2048).
 * Keys are PKCS#8 PEM, which Kubernetes and Node both read. openssl runs with a config of its
 * own (not the system's) that lifts X.509's 64-character limit on CN and O: Kubernetes user
 * names such as `system:serviceaccount:<namespace>:<name>` are often longer.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const VALIDITY_DAYS = '7';
const OPENSSL_CONFIG = [
  'openssl_conf = openssl_init',
  '[openssl_init]',
  'stbl_section = string_table',
  '[string_table]',
  'commonName = min:1,max:1024',
  'organizationName = min:1,max:1024',
  '',
].join('\n');

export interface CertificateFiles {
  readonly certPath: string;
  readonly keyPath: string;
}

export interface ServiceAccountKeyFiles {
  readonly privateKeyPath: string;
  readonly publicKeyPath: string;
}

export interface SubjectAltNames {
  readonly ipAddresses: readonly string[];
  readonly dnsNames: readonly string[];
}

/** A self-signed CA in `dir`: `<stem>.crt` and `<stem>.key`. */
export async function createCertificateAuthority(dir: string, stem: string): Promise<CertificateFiles> {
  const files = filesFor(dir, stem);
  await generateEcKey(dir, files.keyPath);
  const extensions = join(dir, `${stem}.ext`);
  await writeFile(
    extensions,
    [
      '[req]',
      'distinguished_name = dn',
      '[dn]',
      '[ca]',
      'basicConstraints = critical, CA:TRUE',
      'keyUsage = critical, keyCertSign, cRLSign, digitalSignature',
      'subjectKeyIdentifier = hash',
      '',
    ].join('\n'),
  );
  await openssl(dir, [
    'req',
    '-x509',
    '-new',
    '-config',
    extensions,
    '-extensions',
    'ca',
    '-key',
    files.keyPath,
    '-subj',
    '/CN=zookeeper-operator-test-ca',
    '-days',
    VALIDITY_DAYS,
    '-set_serial',
    randomSerial(),
    '-out',
    files.certPath,
  ]);
  await rm(extensions);
  return files;
}

/** A serverAuth certificate for `commonName`, valid for the given IPs and DNS names. */
export async function issueServingCertificate(
  ca: CertificateFiles,
  dir: string,
  stem: string,
  commonName: string,
  altNames: SubjectAltNames,
): Promise<CertificateFiles> {
  const sans = [...altNames.ipAddresses.map((ip) => `IP:${ip}`), ...altNames.dnsNames.map((dns) => `DNS:${dns}`)];
  return issueCertificate(
    ca,
    dir,
    stem,
    [['CN', commonName]],
    ['extendedKeyUsage = serverAuth', `subjectAltName = ${sans.join(', ')}`],
  );
}

/** A clientAuth certificate that authenticates as `user` in `groups`. */
export async function issueClientCertificate(
  ca: CertificateFiles,
  dir: string,
  stem: string,
  user: string,
  groups: readonly string[],
): Promise<CertificateFiles> {
  const subject: Array<[string, string]> = [['CN', user], ...groups.map((group): [string, string] => ['O', group])];
  return issueCertificate(ca, dir, stem, subject, ['extendedKeyUsage = clientAuth']);
}

/** The RSA key pair that signs and verifies ServiceAccount tokens. */
export async function createServiceAccountKeyPair(dir: string, stem: string): Promise<ServiceAccountKeyFiles> {
  const privateKeyPath = join(dir, `${stem}.key`);
  const publicKeyPath = join(dir, `${stem}.pub`);
  await openssl(dir, ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', privateKeyPath]);
  await openssl(dir, ['pkey', '-in', privateKeyPath, '-pubout', '-out', publicKeyPath]);
  return { privateKeyPath, publicKeyPath };
}

async function issueCertificate(
  ca: CertificateFiles,
  dir: string,
  stem: string,
  subject: ReadonlyArray<readonly [string, string]>,
  extensionLines: readonly string[],
): Promise<CertificateFiles> {
  const files = filesFor(dir, stem);
  const requestPath = join(dir, `${stem}.csr`);
  const extensionsPath = join(dir, `${stem}.ext`);
  await generateEcKey(dir, files.keyPath);
  await openssl(dir, ['req', '-new', '-key', files.keyPath, '-subj', distinguishedName(subject), '-out', requestPath]);
  await writeFile(
    extensionsPath,
    ['basicConstraints = critical, CA:FALSE', 'keyUsage = critical, digitalSignature', ...extensionLines, ''].join(
      '\n',
    ),
  );
  await openssl(dir, [
    'x509',
    '-req',
    '-in',
    requestPath,
    '-CA',
    ca.certPath,
    '-CAkey',
    ca.keyPath,
    '-set_serial',
    randomSerial(),
    '-days',
    VALIDITY_DAYS,
    '-extfile',
    extensionsPath,
    '-out',
    files.certPath,
  ]);
  await Promise.all([rm(requestPath), rm(extensionsPath)]);
  return files;
}

/** `/CN=a/O=b/O=c`, with the characters that `openssl -subj` treats specially escaped. */
function distinguishedName(subject: ReadonlyArray<readonly [string, string]>): string {
  return subject.map(([type, value]) => `/${type}=${value.replace(/[\\/+=]/g, (c) => `\\${c}`)}`).join('');
}

async function generateEcKey(dir: string, keyPath: string): Promise<void> {
  await openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyPath]);
}

function filesFor(dir: string, stem: string): CertificateFiles {
  return { certPath: join(dir, `${stem}.crt`), keyPath: join(dir, `${stem}.key`) };
}

function randomSerial(): string {
  // Positive 127-bit serial: clear the top bit so it is never read as negative.
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] as number) & 0x7f;
  return `0x${bytes.toString('hex')}`;
}

const configFiles = new Map<string, Promise<string>>();

/** `<dir>/openssl.cnf`, written once per directory, atomically: other test workers may share the directory. */
function opensslConfig(dir: string): Promise<string> {
  let configFile = configFiles.get(dir);
  if (configFile === undefined) {
    const path = join(dir, 'openssl.cnf');
    const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
    configFile = writeFile(temporary, OPENSSL_CONFIG)
      .then(() => rename(temporary, path))
      .then(() => path);
    configFiles.set(dir, configFile);
  }
  return configFile;
}

async function openssl(dir: string, args: readonly string[]): Promise<void> {
  const config = await opensslConfig(dir);
  try {
    await execFileAsync('openssl', args, { env: { ...process.env, OPENSSL_CONF: config } });
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`openssl ${args.join(' ')} failed: ${stderr?.trim() || (error as Error).message}`, {
      cause: error,
    });
  }
}
