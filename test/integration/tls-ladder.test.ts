/**
 * The facts the operator's TLS phases rest on, on real ZooKeeper (3.8.6 and 3.9.4): a
 * three-member ensemble with dynamic config, a client writing throughout, walked up the quorum
 * TLS ladder one member restart at a time and back down.
 *
 * - Phases (zoo.cfg per member): 0 plaintext; 1 `sslQuorum=false` + `portUnification=true` +
 *   quorum PEM stores; 2 `sslQuorum=true` + `portUnification=true`; 3 `sslQuorum=true` +
 *   `portUnification=false`. After every single restart all three members serve with one
 *   leader: any two adjacent phases form a quorum together. Phases 0 and 2 do not.
 * - Every member serves `secureClientPort` (Netty, PEM stores, client certificates required)
 *   beside its plaintext port; 4lw words answer over TLS, and `conf` names the secure port.
 * - A key store renewed as the kubelet swaps a Secret volume (`..data`) is presented on new
 *   client connections on 3.9.4 only, and on new quorum connections on neither; replacing the
 *   key store file itself by a rename reloads both, on both versions, without a restart.
 * - A reconfig that changes only a member's client address rebinds its plaintext port in place,
 *   secure port untouched, except from `0.0.0.0:P` to `127.0.0.1:P`: Netty binds the new address
 *   before closing the old, the bind fails, and the member is left with no plaintext port.
 * - A client certificate's subject is the session's identity (`x509`, `CN=app`).
 *
 * Certificates name `localhost` and the server lines use it, so quorum hostname verification
 * stays on as the operator keeps it: the connecting member checks the name it dialled, the
 * accepting member the reverse lookup of the peer's address (127.0.0.1 → localhost).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import test from 'ava';
import { issueCertificate, type KeyedCertificate, pemBlocks, readCertificate } from '../../src/tls/x509.js';
import { sendFourLetterWord } from '../../src/zookeeper/four-letter-word.js';
import { moveMember, readCommittedConfig } from '../../src/zookeeper/reconfig-client.js';
import { binaryCacheDir } from '../harness/binaries.js';
import { freePort } from '../harness/ports.js';
import { createTemporaryWorkDir } from '../harness/work-dir.js';
import { delay, LocalEnsemble, waitFor } from '../support/local-ensemble.js';
import { testAuthority } from '../support/standalone-zookeeper.js';
import { ZnodeWriter } from '../support/znode-writer.js';

type Phase = 0 | 1 | 2 | 3;
const HOUR = 3_600_000;
const MEMBERS = [1, 2, 3] as const;
const KEY_STORE = 'member.pem';

interface MemberFiles {
  /** The directory laid out as a Secret volume: `..data` → `..<version>`, the key store a link through it. */
  volume: string;
  keyStore: string;
  trustStore: string;
  securePort: number;
}

/** The quorum TLS lines of a phase (none in phase 0). */
function quorumTls(phase: Phase, files: MemberFiles): string[] {
  if (phase === 0) return [];
  return [
    `sslQuorum=${phase >= 2}`,
    `portUnification=${phase <= 2}`,
    `ssl.quorum.keyStore.location=${files.keyStore}`,
    'ssl.quorum.keyStore.type=PEM',
    `ssl.quorum.trustStore.location=${files.trustStore}`,
    'ssl.quorum.trustStore.type=PEM',
    'sslQuorumReloadCertFiles=true',
  ];
}

/** The secure client port, served in every phase. */
function clientTls(files: MemberFiles): string[] {
  return [
    `secureClientPort=${files.securePort}`,
    'secureClientPortAddress=127.0.0.1',
    'serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory',
    `ssl.keyStore.location=${files.keyStore}`,
    'ssl.keyStore.type=PEM',
    `ssl.trustStore.location=${files.trustStore}`,
    'ssl.trustStore.type=PEM',
    'ssl.clientAuth=need',
    'client.certReload=true',
    'authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider',
  ];
}

/** A PEM key store (PKCS#8 key, certificate, CA) for `localhost`, as the operator renders one. */
async function keyStoreFor(authority: KeyedCertificate, commonName: string): Promise<string> {
  const now = Date.now();
  const issued = await issueCertificate(authority, {
    commonName,
    dnsNames: ['localhost'],
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + HOUR),
  });
  return `${issued.privateKeyPem}${issued.certificatePem}${authority.certificatePem}`;
}

const fingerprintOf = (keyStore: string) => readCertificate(pemBlocks(keyStore, 'CERTIFICATE')[0] ?? '').fingerprint;

/** Writes `..<version>/member.pem` and points `..data` at it atomically, as the kubelet swaps a Secret volume. */
async function project(volume: string, version: string, keyStore: string): Promise<void> {
  await mkdir(join(volume, `..${version}`), { recursive: true });
  await writeFile(join(volume, `..${version}`, KEY_STORE), keyStore);
  await symlink(`..${version}`, join(volume, '..data_tmp'));
  await rename(join(volume, '..data_tmp'), join(volume, '..data'));
  await symlink(join('..data', KEY_STORE), join(volume, KEY_STORE)).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
}

interface TlsClient {
  ca: string;
  keyStore: string;
}

/** TLS to 127.0.0.1:port verified as `localhost`, with a client certificate; `use` runs once secure. */
function overTls<T>(port: number, client: TlsClient, use: (socket: TLSSocket, done: (value: T) => void) => void) {
  return new Promise<T>((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca: client.ca,
      key: pemBlocks(client.keyStore, 'PRIVATE KEY')[0],
      cert: pemBlocks(client.keyStore, 'CERTIFICATE')[0],
    });
    socket.setTimeout(5_000, () => socket.destroy(new Error(`no answer from 127.0.0.1:${port} within 5 s`)));
    socket.once('error', reject);
    socket.once('secureConnect', () => use(socket, resolve));
  });
}

/** SHA-256 fingerprint of the certificate presented on a new TLS connection (secure client or election port). */
const presentedFingerprint = (port: number, client: TlsClient) =>
  overTls<string>(port, client, (socket, done) => {
    const { fingerprint256 } = socket.getPeerCertificate();
    socket.destroy();
    done(fingerprint256);
  });

/** A 4lw word over TLS. */
const askOverTls = (port: number, client: TlsClient, word: string) =>
  overTls<string>(port, client, (socket, done) => {
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk.toString();
    });
    socket.once('end', () => done(answer));
    socket.write(word);
  });

const answers = (host: string, port: number) =>
  sendFourLetterWord(host, port, 'srvr').then(
    (answer) => answer.includes('Mode:'),
    () => false,
  );

for (const { version, clientReloadsOnSecretSwap } of [
  { version: '3.9.4', clientReloadsOnSecretSwap: true },
  { version: '3.8.6', clientReloadsOnSecretSwap: false },
]) {
  test.serial(
    `ZooKeeper ${version} keeps a quorum through every single restart of the quorum TLS ladder, up and down, and serves clients over TLS beside plaintext`,
    async (t) => {
      const work = await createTemporaryWorkDir('zkop-tls-ladder-');
      t.teardown(() => work.remove());
      const authority = await testAuthority('tls-ladder CA', 3);
      const trustStore = join(work.path, 'ca.crt');
      await writeFile(trustStore, authority.certificatePem);
      const files = new Map<number, MemberFiles>();
      const firstKeyStores = new Map<number, string>();
      for (const myid of MEMBERS) {
        const volume = join(work.path, `tls-${myid}`);
        firstKeyStores.set(myid, await keyStoreFor(authority, `member-${myid}`));
        await project(volume, 'v1', firstKeyStores.get(myid) ?? '');
        files.set(myid, { volume, keyStore: join(volume, KEY_STORE), trustStore, securePort: await freePort() });
      }
      const filesOf = (myid: number) => files.get(myid) as MemberFiles;
      const operator: TlsClient = { ca: authority.certificatePem, keyStore: await keyStoreFor(authority, 'operator') };
      const password = randomBytes(12).toString('hex');

      const ensemble = await LocalEnsemble.start({
        size: 3,
        version,
        superPassword: password,
        quorumHost: 'localhost',
        extraConfig: (myid) => clientTls(filesOf(myid)),
      });
      t.teardown(() => ensemble.stop());
      const writer = await ZnodeWriter.start(async () => ensemble.addresses().join(','), '/ladder');
      t.teardown(() => writer.stop());

      const startInPhase = async (myid: number, phase: Phase) => {
        await ensemble.stopMember(myid);
        await ensemble.replaceExtraConfig(myid, [...clientTls(filesOf(myid)), ...quorumTls(phase, filesOf(myid))]);
        ensemble.restartMember(myid);
      };
      const walk = async (phase: Phase) => {
        for (const myid of MEMBERS) {
          await startInPhase(myid, phase);
          await ensemble.waitForQuorum(MEMBERS);
          const srvr = await askOverTls(filesOf(myid).securePort, operator, 'srvr');
          t.regex(srvr, /Mode: (leader|follower)/, `member ${myid} in phase ${phase} serves, over TLS too`);
        }
      };

      // Phases 0 and 2 are not adjacent: member 1 in phase 0 and member 3 in phase 2 form no quorum.
      await ensemble.stopMember(2);
      await startInPhase(3, 2);
      // An adjacent pair elects within a few seconds (every restart below); this one gets 15.
      await delay(15_000);
      const apart = await ensemble.readings([1, 3]);
      t.deepEqual(
        apart.map((r) => r.srvr?.mode),
        [undefined, undefined],
        'phase 0 and phase 2 members serve no client together',
      );
      ensemble.restartMember(2);
      await startInPhase(3, 0);
      await ensemble.waitForQuorum(MEMBERS);

      for (const phase of [1, 2, 3] as const) await walk(phase);

      // 4lw over TLS, and conf names the secure port.
      const member1 = filesOf(1);
      t.true(
        (await askOverTls(member1.securePort, operator, 'conf')).includes(`secureClientPort=${member1.securePort}`),
      );
      t.regex(await askOverTls(member1.securePort, operator, 'mntr'), /zk_server_state\t(leader|follower)/);

      // A renewal of member 1's key store, as the kubelet swaps the Secret volume.
      const electionPort = ensemble.member(1).electionPort;
      const presented = async () => ({
        quorum: await presentedFingerprint(electionPort, operator),
        client: await presentedFingerprint(member1.securePort, operator),
      });
      t.deepEqual(await presented(), {
        quorum: fingerprintOf(firstKeyStores.get(1) ?? ''),
        client: fingerprintOf(firstKeyStores.get(1) ?? ''),
      });
      const renewal = await keyStoreFor(authority, 'member-1');
      const renewed = { quorum: fingerprintOf(renewal), client: fingerprintOf(renewal) };
      const renewedPresented = () =>
        waitFor('the renewed certificate on new quorum and client connections', async () => {
          const now = await presented();
          return now.quorum === renewed.quorum && now.client === renewed.client;
        });
      const pidBeforeRenewal = ensemble.pid(1);
      const first = fingerprintOf(firstKeyStores.get(1) ?? '');
      await project(member1.volume, 'v2', renewal);
      if (clientReloadsOnSecretSwap) {
        await waitFor(
          'the renewed certificate on new client connections',
          async () => (await presentedFingerprint(member1.securePort, operator)) === renewed.client,
        );
      }
      // A reload shows within a second or two; ten seconds of the old certificate is none.
      await delay(clientReloadsOnSecretSwap ? 5_000 : 10_000);
      t.deepEqual(
        await presented(),
        { quorum: first, client: clientReloadsOnSecretSwap ? renewed.client : first },
        'the Secret-volume swap alone is not noticed by the quorum key store (nor, on 3.8, the client one)',
      );
      await writeFile(`${member1.keyStore}.new`, renewal);
      await rename(`${member1.keyStore}.new`, member1.keyStore);
      await renewedPresented();
      t.is(ensemble.pid(1), pidBeforeRenewal, 'reloaded by the same process');

      // The client address of member 1 moves by reconfig; its process stays, its secure port serves.
      const moveClientAddress = async (clientAddress: string) => {
        const { quorumPort } = ensemble.member(1);
        const line = `server.1=localhost:${quorumPort}:${electionPort}:participant;${clientAddress}`;
        const committed = await readCommittedConfig({ servers: ensemble.addresses([2, 3]), superPassword: password });
        await moveMember({ servers: ensemble.addresses([2, 3]), superPassword: password }, line, committed.version);
        const clientPort = Number(clientAddress.split(':')[1]);
        ensemble.record({ ...ensemble.member(1), clientPort, address: `127.0.0.1:${clientPort}`, serverLine: line });
      };
      const pidBeforeMove = ensemble.pid(1);
      const firstPort = ensemble.member(1).clientPort;
      const wildcardPort = await freePort();
      await moveClientAddress(`0.0.0.0:${wildcardPort}`);
      await waitFor('member 1 on its new wildcard port', async () => answers('127.0.0.2', wildcardPort));
      t.false(await answers('127.0.0.1', firstPort), 'the old port is closed');
      // The same port, loopback only: Netty binds the new address before it closes the old one, the
      // bind fails (the wildcard socket holds the port), and the old one is closed all the same.
      await moveClientAddress(`127.0.0.1:${wildcardPort}`);
      await waitFor('the failed rebind in the log', async () =>
        (await ensemble.log(1)).includes('Error while reconfiguring'),
      );
      t.deepEqual(
        { loopback: await answers('127.0.0.1', wildcardPort), other: await answers('127.0.0.2', wildcardPort) },
        { loopback: false, other: false },
        'no plaintext port at all after a same-port move',
      );
      // A different port, loopback only, binds.
      const loopbackPort = await freePort();
      await moveClientAddress(`127.0.0.1:${loopbackPort}`);
      await waitFor('member 1 on its loopback port', async () => answers('127.0.0.1', loopbackPort));
      t.false(await answers('127.0.0.2', loopbackPort), 'bound to loopback only');
      t.is(ensemble.pid(1), pidBeforeMove, 'moved in place, no restart');
      t.regex(
        await askOverTls(member1.securePort, operator, 'srvr'),
        /Mode: (leader|follower)/,
        'the secure port serves on',
      );

      // x509 identity: a client certificate's subject is the session's auth id.
      const app = join(work.path, 'app.pem');
      await writeFile(app, await keyStoreFor(authority, 'app'));
      const whoami = await promisify(execFile)(
        join(binaryCacheDir(), `zookeeper-${version}`, 'bin', 'zkCli.sh'),
        ['-server', `localhost:${member1.securePort}`, 'whoami'],
        {
          timeout: 60_000,
          env: {
            ...process.env,
            ZOO_LOG_DIR: work.path,
            CLIENT_JVMFLAGS: [
              '-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty',
              '-Dzookeeper.client.secure=true',
              `-Dzookeeper.ssl.keyStore.location=${app}`,
              '-Dzookeeper.ssl.keyStore.type=PEM',
              `-Dzookeeper.ssl.trustStore.location=${trustStore}`,
              '-Dzookeeper.ssl.trustStore.type=PEM',
            ].join(' '),
          },
        },
      );
      t.regex(whoami.stdout, /^x509: CN=app$/m);

      for (const phase of [2, 1, 0] as const) await walk(phase);
      const report = await writer.stop();
      t.deepEqual(report.lost, [], 'every acknowledged write survived');
      t.true(report.acknowledged > 0);
    },
  );
}
