/**
 * A CA of the user's as real ZooKeeper takes it: an RSA intermediate under an organisation's
 * root, its key PKCS#1 as openssl and cert-manager write it. The member's key store is what the
 * operator writes (its key, its certificate, the chain up to the root); the trust store holds the
 * intermediate alone, as `NAME-tls` does. The operator's own credential (`operator-credential.ts`)
 * and transport (`transport.ts`, which takes the intermediate as its anchor) read `srvr` over it,
 * verifying the member's DNS name; a client of a sibling intermediate under the same root is
 * refused, since members trust the cluster's CA and not the root. ZooKeeper 3.8 and 3.9.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import type { ZooKeeperCluster } from '../../src/api/types.js';
import { operatorCredentials } from '../../src/controller/operator-credential.js';
import { myidOfOrdinal } from '../../src/render/names.js';
import { memberDnsNames, memberKeyStoreKey } from '../../src/render/tls-secrets.js';
import { issueCertificate, issueClientCertificate } from '../../src/tls/x509.js';
import { askFourLetterWord } from '../../src/zookeeper/four-letter-word.js';
import { freePort } from '../harness/ports.js';
import { waitUntilReady } from '../harness/processes.js';
import { createTemporaryWorkDir } from '../harness/work-dir.js';
import { aCluster } from '../support/builders.js';
import { secureClientConfig, startStandaloneZooKeeper } from '../support/standalone-zookeeper.js';
import { userCa } from '../support/user-pki.js';

const cluster: ZooKeeperCluster = aCluster({ replicas: 3, tls: {} }, { name: 'example', namespace: 'zk' });
const serverName = 'example-0.example-headless.zk.svc.cluster.local';

for (const version of ['3.9.4', '3.8.6']) {
  test(`ZooKeeper ${version} serves TLS under the user’s RSA intermediate CA; the operator reads it trusting the intermediate alone, and a sibling CA’s client is refused`, async (t) => {
    const work = await createTemporaryWorkDir('zkop-user-ca-');
    t.teardown(() => work.remove());
    const authority = await userCa({ commonName: 'ZooKeeper Intermediate' });
    const now = Date.now();
    const member = await issueCertificate(authority, {
      commonName: 'example-0',
      dnsNames: memberDnsNames(cluster.metadata, myidOfOrdinal(0), 'cluster.local'),
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 3_600_000),
    });
    const volume = join(work.path, 'tls');
    await mkdir(volume);
    const keyStore = join(volume, memberKeyStoreKey('example-0'));
    await writeFile(keyStore, `${member.privateKeyPem}${member.certificatePem}${authority.certificatePem}`);
    await writeFile(join(volume, 'ca.crt'), authority.caPem);
    const port = await freePort();
    const zookeeper = await startStandaloneZooKeeper(t, version, work.path, [
      ...secureClientConfig(port, keyStore, join(volume, 'ca.crt')),
      '4lw.commands.whitelist=srvr',
    ]);

    const credentials = await operatorCredentials().forCluster(authority, new Date());
    t.is(credentials.ca, authority.caPem, 'the operator trusts the intermediate, not the root');
    const answer = await waitUntilReady(zookeeper, {
      description: `srvr over TLS on 127.0.0.1:${port}`,
      probe: () =>
        askFourLetterWord('127.0.0.1', port, 'srvr', 5_000, { credentials, serverName }).catch(() => undefined),
      timeoutMs: 60_000,
    });
    t.regex(answer, /Zookeeper version: 3\./);

    // Another intermediate under the same root: its client is not the cluster's.
    const sibling = await userCa({ commonName: 'Another Team Intermediate', under: authority });
    t.is(sibling.rootPem, authority.rootPem);
    const siblingClient = await issueClientCertificate(sibling, {
      commonName: 'someone',
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 3_600_000),
    });
    await t.throwsAsync(
      askFourLetterWord('127.0.0.1', port, 'srvr', 5_000, {
        credentials: {
          ca: authority.caPem,
          // Its whole chain up to the shared root: a member trusting the root would take it.
          cert: `${siblingClient.certificatePem}${sibling.certificatePem}`,
          key: siblingClient.privateKeyPem,
        },
        serverName,
      }),
      undefined,
      'a client of a sibling CA is refused',
    );
    t.false(zookeeper.hasExited);
  });
}
