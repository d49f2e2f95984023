/**
 * The operator's client edge over TLS against real ZooKeeper (3.9.4 and 3.8.6, standalone):
 * members serve `secureClientPort` with `ssl.clientAuth=need` from PEM stores laid out as the
 * operator renders them; the operator presents its own client certificate (CN
 * zookeeper-operator, client use only, no host name), issued from the cluster CA. Over TLS 4lw
 * `srvr`/`mntr`/`conf` answer, the member reader reads them, and a session creates and reads a
 * znode; a wrong expected server name, a member of another CA, a client of another CA and
 * plaintext to the secure port are each refused, and nothing falls back to plaintext. The
 * plaintext client port is bound to loopback elsewhere on the host, as in the pod.
 * ZooKeeper from the cache (`test/controlplane/install.sh`).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { FOUR_LETTER_WORDS } from '../../src/api/constants.js';
import type { ZooKeeperCluster } from '../../src/api/types.js';
import { operatorCredentials } from '../../src/controller/operator-credential.js';
import { myidOfOrdinal } from '../../src/render/names.js';
import { memberDnsNames } from '../../src/render/tls-secrets.js';
import { CLOCK_SKEW_ALLOWANCE_MS, createCertificateAuthority, issueCertificate } from '../../src/tls/x509.js';
import { memberStateReader } from '../../src/zookeeper/ensemble-reader.js';
import { askFourLetterWord } from '../../src/zookeeper/four-letter-word.js';
import { parseSrvr } from '../../src/zookeeper/readings.js';
import { ZooKeeperSession } from '../../src/zookeeper/session.js';
import type { TlsTarget } from '../../src/zookeeper/transport.js';
import { CREATE_MODE } from '../../src/zookeeper/wire-protocol.js';
import { freePort } from '../harness/ports.js';
import { waitUntilReady } from '../harness/processes.js';
import { createTemporaryWorkDir } from '../harness/work-dir.js';
import { aCluster } from '../support/builders.js';
import { secureClientConfig, startStandaloneZooKeeper } from '../support/standalone-zookeeper.js';

const HOUR = 3_600_000;
const cluster: ZooKeeperCluster = aCluster({ replicas: 3, tls: {} }, { name: 'example', namespace: 'zk' });
const dnsNames = memberDnsNames(cluster.metadata, myidOfOrdinal(0), 'cluster.local');
const serverName = 'example-0.example-headless.zk.svc.cluster.local';

const validity = () => {
  const now = Date.now();
  return { notBefore: new Date(now - CLOCK_SKEW_ALLOWANCE_MS), notAfter: new Date(now + 3 * HOUR) };
};

for (const version of ['3.9.4', '3.8.6']) {
  test(`ZooKeeper ${version}: the operator reads and opens sessions over TLS with its own client certificate, and every other connection is refused`, async (t) => {
    t.true(dnsNames.includes(serverName), `the member certificate names ${serverName}`);
    const work = await createTemporaryWorkDir('zkop-client-tls-');
    t.teardown(() => work.remove());
    const authority = await createCertificateAuthority({
      commonName: 'zookeeper-operator CA for zk/example',
      ...validity(),
    });
    const member = await issueCertificate(authority, { commonName: 'example-0', dnsNames, ...validity() });
    await writeFile(
      join(work.path, 'example-0.pem'),
      `${member.privateKeyPem}${member.certificatePem}${authority.certificatePem}`,
    );
    await writeFile(join(work.path, 'ca.crt'), authority.certificatePem);
    const [securePort, plainPort] = [await freePort(), await freePort()];
    const zookeeper = await startStandaloneZooKeeper(t, version, work.path, [
      `clientPort=${plainPort}`,
      'clientPortAddress=127.0.0.1',
      ...secureClientConfig(securePort, join(work.path, 'example-0.pem'), join(work.path, 'ca.crt')),
      `4lw.commands.whitelist=${FOUR_LETTER_WORDS.join(',')}`,
    ]);

    const credentials = await operatorCredentials().forCluster(authority, new Date());
    const tls: TlsTarget = { credentials, serverName };
    const ask = (word: (typeof FOUR_LETTER_WORDS)[number], target = tls, port = securePort) =>
      askFourLetterWord('127.0.0.1', port, word, 5_000, target);
    const srvr = await waitUntilReady(zookeeper, {
      description: `4lw srvr over TLS on 127.0.0.1:${securePort}`,
      probe: () => ask('srvr').catch(() => undefined),
      timeoutMs: 60_000,
    });

    // 4lw over TLS, as the member reader asks them.
    t.like(parseSrvr(srvr), { mode: 'standalone' });
    t.regex(srvr, new RegExp(`^Zookeeper version: ${version.replaceAll('.', '\\.')}`));
    t.regex(await ask('mntr'), /^zk_server_state\tstandalone$/m);
    t.regex(await ask('conf'), new RegExp(`^secureClientPort=${securePort}$`, 'm'));
    const [reading] = await memberStateReader({ maxAgeMs: 0, timeoutMs: 5_000 }).read(
      [{ pod: 'example-0', myid: 1, ip: '127.0.0.1', tls: { port: securePort, ...tls } }],
      { client: plainPort + 1 },
    );
    t.is(reading?.unreachable, undefined, 'the reader reads the member at its secure port, not the plaintext one');
    t.like(reading, { srvr: { mode: 'standalone' }, mntr: { serverState: 'standalone' } });

    // A session over TLS creates and reads a znode.
    const session = await ZooKeeperSession.open({
      servers: [{ address: `127.0.0.1:${securePort}`, tls }],
      connectTimeoutMs: 10_000,
    });
    t.teardown(() => session.close());
    t.is(session.server, `127.0.0.1:${securePort} (TLS, verified as ${serverName})`);
    t.is(await session.create('/operator-tls', 'written over TLS', CREATE_MODE.persistent), '/operator-tls');
    t.is((await session.getData('/operator-tls')).data.toString('utf8'), 'written over TLS');
    await session.close();

    // Refusals: each a rejection naming the member, none an answer.
    const wrongName = { ...tls, serverName: 'example-1.example-headless.zk.svc.cluster.local' };
    await t.throwsAsync(
      ask('srvr', wrongName),
      { message: /verified as example-1\..*altnames/ },
      'a wrong server name',
    );
    await t.throwsAsync(
      ZooKeeperSession.open({
        servers: [{ address: `127.0.0.1:${securePort}`, tls: wrongName }],
        connectTimeoutMs: 1_000,
      }),
      { message: /^no ZooKeeper session with .*altnames/ },
      'no session with a wrong server name',
    );
    const stranger = await createCertificateAuthority({ commonName: 'another CA', ...validity() });
    const trustingStranger = { ...tls, credentials: { ...credentials, ca: stranger.certificatePem } };
    await t.throwsAsync(ask('srvr', trustingStranger), undefined, 'a member that is not of the trusted CA');
    const strangersClient = await operatorCredentials().forCluster(stranger, new Date());
    const clientOfStranger = { ...tls, credentials: { ...strangersClient, ca: authority.certificatePem } };
    await t.throwsAsync(ask('srvr', clientOfStranger), undefined, 'a client certificate of another CA');
    await t.throwsAsync(
      ZooKeeperSession.open({
        servers: [{ address: `127.0.0.1:${securePort}`, tls: clientOfStranger }],
        connectTimeoutMs: 1_000,
      }),
      undefined,
      'no session for a client of another CA',
    );
    await t.throwsAsync(
      askFourLetterWord('127.0.0.1', securePort, 'srvr', 5_000),
      undefined,
      'plaintext 4lw to the secure port',
    );
    await t.throwsAsync(
      ZooKeeperSession.open({ servers: [`127.0.0.1:${securePort}`], connectTimeoutMs: 1_000 }),
      undefined,
      'no plaintext session at the secure port',
    );
    await t.throwsAsync(ask('srvr', tls, plainPort), undefined, 'TLS to the plaintext port');
    t.false(zookeeper.hasExited);
  });
}
