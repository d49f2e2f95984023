/**
 * The operator's certificate Secrets as real ZooKeeper reads them: the files of a rendered
 * `NAME-tls` Secret, laid out as the kubelet mounts a Secret volume (`..data` → a timestamped
 * directory, each key a symlink through `..data`), serve as ZooKeeper's PEM key store and trust
 * store on the secure client port, with client certificates required. A TLS client holding
 * another member's key store verifies the server against the CA and its DNS name; a client of
 * another CA is refused. A renewal, swapped in as the kubelet swaps `..data`, is served to new
 * connections by the same process without a restart (`client.certReload=true`) on 3.9.4; 3.8.6
 * does not notice that swap (its file watcher waits for an event naming the key store file
 * itself, and the swap renames `..data`), but does reload when the key store file itself is
 * replaced by a rename: the later step that mounts the Secret must do that for 3.8 members.
 * ZooKeeper from the cache (`test/controlplane/install.sh`).
 */
import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, type PeerCertificate } from 'node:tls';
import test from 'ava';
import type { ZooKeeperCluster } from '../../src/api/types.js';
import { myidOfOrdinal } from '../../src/render/names.js';
import { memberDnsNames, memberKeyStoreKey, renderTlsSecret, secretText } from '../../src/render/tls-secrets.js';
import { issueCertificate, type KeyedCertificate, pemBlocks, readCertificate } from '../../src/tls/x509.js';
import { pollUntil } from '../harness/poll.js';
import { freePort } from '../harness/ports.js';
import { waitUntilReady } from '../harness/processes.js';
import { createTemporaryWorkDir } from '../harness/work-dir.js';
import { aCluster } from '../support/builders.js';
import { secureClientConfig, startStandaloneZooKeeper, testAuthority } from '../support/standalone-zookeeper.js';

const HOUR = 3_600_000;
const cluster: ZooKeeperCluster = aCluster({ replicas: 3, tls: {} }, { name: 'example', namespace: 'zk' });
const serverName = 'example-0.example-headless.zk.svc.cluster.local';

async function issue(authority: KeyedCertificate, ordinal: number): Promise<string> {
  const now = Date.now();
  const issued = await issueCertificate(authority, {
    commonName: `example-${ordinal}`,
    dnsNames: memberDnsNames(cluster.metadata, myidOfOrdinal(ordinal), 'cluster.local'),
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + HOUR),
  });
  return `${issued.privateKeyPem}${issued.certificatePem}${authority.certificatePem}`;
}

/** Writes the Secret's files as a new `..<version>` directory and points `..data` at it atomically, as the kubelet does. */
async function project(volume: string, version: string, secret: ReturnType<typeof renderTlsSecret>): Promise<void> {
  const dir = join(volume, `..${version}`);
  await mkdir(dir, { recursive: true });
  for (const key of Object.keys(secret.data ?? {})) await writeFile(join(dir, key), secretText(secret, key) ?? '');
  await symlink(`..${version}`, join(volume, '..data_tmp'));
  await rename(join(volume, '..data_tmp'), join(volume, '..data'));
  for (const key of Object.keys(secret.data ?? {})) {
    await symlink(join('..data', key), join(volume, key)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  }
}

/** The certificate the server presents to a client holding `clientKeyStore`, trusting `ca`. */
function handshake(port: number, ca: string, clientKeyStore: string): Promise<PeerCertificate> {
  const [key] = pemBlocks(clientKeyStore, 'PRIVATE KEY');
  const [certificate] = pemBlocks(clientKeyStore, 'CERTIFICATE');
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: serverName, ca, key, cert: certificate });
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')));
    socket.once('secureConnect', () => {
      // ZooKeeper checks the client certificate after the handshake: ask something to see it accepted.
      socket.write('srvr');
    });
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk.toString();
    });
    socket.once('end', () => {
      if (answer.includes('Zookeeper version')) resolve(socket.getPeerCertificate());
      else reject(new Error(`no srvr answer: ${JSON.stringify(answer)}`));
    });
    socket.once('error', reject);
  });
}

const versions = [
  { version: '3.9.4', reloadsOnSecretSwap: true },
  { version: '3.8.6', reloadsOnSecretSwap: false },
];

for (const { version, reloadsOnSecretSwap } of versions) {
  test(`ZooKeeper ${version} serves TLS from the operator's key store and trust bundle, requires a client of the CA, and reloads a renewal without a restart${reloadsOnSecretSwap ? '' : ' once the key store file itself is replaced'}`, async (t) => {
    const work = await createTemporaryWorkDir('zkop-tls-');
    t.teardown(() => work.remove());
    const authority = await testAuthority('zookeeper-operator CA for zk/example', 3);
    const keyStores = new Map([
      ['example-0', await issue(authority, 0)],
      ['example-1', await issue(authority, 1)],
    ]);
    const volume = join(work.path, 'tls');
    await mkdir(volume);
    await project(volume, 'v1', renderTlsSecret(cluster, authority.certificatePem, keyStores));
    const port = await freePort();
    const zookeeper = await startStandaloneZooKeeper(t, version, work.path, [
      ...secureClientConfig(port, join(volume, memberKeyStoreKey('example-0')), join(volume, 'ca.crt')),
      'client.certReload=true',
      '4lw.commands.whitelist=srvr',
    ]);
    const client = keyStores.get('example-1') ?? '';
    const served = await waitUntilReady(zookeeper, {
      description: `a TLS handshake on 127.0.0.1:${port}`,
      probe: () => handshake(port, authority.certificatePem, client).catch(() => undefined),
      timeoutMs: 60_000,
    });
    const first = readCertificate(pemBlocks(keyStores.get('example-0') ?? '', 'CERTIFICATE')[0] ?? '');
    t.is(
      served.fingerprint256,
      first.fingerprint,
      'the member’s own certificate, verified against the CA for its DNS name',
    );

    const stranger = await testAuthority('another CA');
    await t.throwsAsync(
      handshake(port, authority.certificatePem, await issue(stranger, 1)),
      undefined,
      'a client of another CA is refused',
    );

    // The renewal, as the operator writes it into the Secret and the kubelet swaps it in.
    keyStores.set('example-0', await issue(authority, 0));
    await project(volume, 'v2', renderTlsSecret(cluster, authority.certificatePem, keyStores));
    await rm(join(volume, '..v1'), { recursive: true });
    const renewed = readCertificate(pemBlocks(keyStores.get('example-0') ?? '', 'CERTIFICATE')[0] ?? '');
    const servedNow = async () => (await handshake(port, authority.certificatePem, client)).fingerprint256;
    const renewedServed = () =>
      pollUntil(
        'the renewed certificate is served',
        async () => ((await servedNow().catch(() => undefined)) === renewed.fingerprint ? true : undefined),
        { timeoutMs: 30_000, intervalMs: 500 },
      );
    if (reloadsOnSecretSwap) {
      await renewedServed();
    } else {
      // 3.9.4 serves a swap within a second or two; ten seconds of the old certificate is no reload.
      await new Promise((resolve) => setTimeout(resolve, 10_000));
      t.is(await servedNow(), first.fingerprint, 'the Secret-volume swap alone is not noticed');
      const file = join(volume, memberKeyStoreKey('example-0'));
      await writeFile(`${file}.new`, keyStores.get('example-0') ?? '');
      await rename(`${file}.new`, file);
      await renewedServed();
    }
    t.false(zookeeper.hasExited, 'the same process serves it: no restart');
  });
}
