/**
 * TLS end to end, on the real control plane with real ZooKeeper 3.8 and 3.9, while a client
 * writes throughout: a running plaintext ensemble climbs to quorum and client TLS one rolling
 * phase at a time, a client with a certificate of the cluster's CA connects while one without is
 * refused, member certificates are renewed three times with no container restarted and the
 * renewed certificate served, and the ensemble walks back down to plaintext. Afterwards every
 * acknowledged write is there.
 */
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import test from 'ava';
import type { ZooKeeperClusterStatus } from '../../src/api/types.js';
import { memberHost, serverIdOfPod } from '../../src/render/names.js';
import { CA_CERTIFICATE_KEY, CA_PRIVATE_KEY_KEY, memberKeyStoreKey, secretText } from '../../src/render/tls-secrets.js';
import { createCertificateAuthority, issueClientCertificate, pemBlocks, readCertificate } from '../../src/tls/x509.js';
import { askFourLetterWord } from '../../src/zookeeper/four-letter-word.js';
import type { ClientTls } from '../../src/zookeeper/transport.js';
import { CREATE_MODE } from '../../src/zookeeper/wire-protocol.js';
import { controlPlane, newNamespace } from '../harness/fixture.js';
import { pollUntil } from '../harness/poll.js';
import {
  clusterEvents,
  createCluster,
  FORMED_MS,
  memberPods,
  patchCluster,
  ROLLED_MS,
  readCluster,
  waitForStatus,
} from '../support/clusters.js';
import { runOperator } from '../support/operator.js';
import {
  onPhases,
  openClient,
  phases,
  readyMembers,
  SECURE_PORT,
  servedCertificate,
  servesTls,
} from '../support/tls-clients.js';
import { ZnodeWriter } from '../support/znode-writer.js';

const CLUSTER = 'zk';
/**
 * Three rolls up and as many down. Up: the first opens the TLS client port and accepts TLS on the
 * quorum (accepting-tls, secure-port); the second sends TLS, and each member's plaintext client
 * port then moves to its pod's loopback by reconfig; the third refuses plaintext on the quorum.
 */
const TLS_PHASES_MS = 3 * ROLLED_MS;

/** A client certificate (CN=app) issued from the cluster's CA, as an administrator holding the CA Secret can. */
async function appCredentials(namespace: string): Promise<ClientTls> {
  const core = (await controlPlane()).kubeConfig.makeApiClient(CoreV1Api);
  const secret = await core.readNamespacedSecret({ name: `${CLUSTER}-ca`, namespace });
  const authority = {
    certificatePem: secretText(secret, CA_CERTIFICATE_KEY) ?? '',
    privateKeyPem: secretText(secret, CA_PRIVATE_KEY_KEY) ?? '',
  };
  const now = Date.now();
  const issued = await issueClientCertificate(authority, {
    commonName: 'app',
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 3_600_000),
  });
  return { ca: authority.certificatePem, cert: issued.certificatePem, key: issued.privateKeyPem };
}

/** The member certificates' notAfter in status, by member: each renewal moves it. */
const memberExpiries = (status: ZooKeeperClusterStatus) =>
  new Map((status.tls?.certificates ?? []).filter((c) => c.name !== 'ca').map((c) => [c.name, c.notAfter]));

for (const image of ['zookeeper:3.9.4', 'zookeeper:3.8.6']) {
  test.serial(
    `${image}: plaintext -> quorum and client TLS -> three renewals without a restart -> plaintext, no write lost`,
    async (t) => {
      const namespace = await newNamespace(t);
      await runOperator(t, namespace);
      // The application's own CA, whose client certificates members accept beside the cluster CA's.
      const appAuthority = await createCertificateAuthority({
        commonName: 'app CA',
        notBefore: new Date(Date.now() - 60_000),
        notAfter: new Date(Date.now() + 3_600_000),
      });
      const core = (await controlPlane()).kubeConfig.makeApiClient(CoreV1Api);
      await core.createNamespacedSecret({
        namespace,
        body: { metadata: { name: 'app-ca' }, stringData: { 'ca.crt': appAuthority.certificatePem } },
      });
      await createCluster(namespace, CLUSTER, {
        replicas: 3,
        image,
        storage: { size: '1Gi', reclaimPolicy: 'Delete' },
        tls: { trustedClientCAs: { secretName: 'app-ca' } },
      });
      await waitForStatus(
        namespace,
        CLUSTER,
        'Running on plaintext, certificates issued',
        (status, cluster) => onPhases('plaintext', 'plaintext')(status, cluster) && memberExpiries(status).size === 3,
        FORMED_MS,
      );
      const credentials = await appCredentials(namespace);
      const writer = await ZnodeWriter.start(() => readyMembers(namespace, CLUSTER), '/tls', openClient(credentials));
      t.teardown(() => writer.stop().catch(() => undefined));

      // Up: the TLS port opens beside plaintext, members send TLS, then plaintext closes.
      await patchCluster(namespace, CLUSTER, { spec: { tls: { quorum: true, client: true } } });
      const climbed = await waitForStatus(
        namespace,
        CLUSTER,
        'quorum and clients on TLS only',
        onPhases('tls-only', 'tls-only'),
        TLS_PHASES_MS,
      );
      const pods = await memberPods(namespace, CLUSTER);
      t.true(pods.every(servesTls), 'every member serves the TLS client port');
      const member = pods[0] as V1Pod;
      const ip = member.status?.podIP ?? '';
      const serverName = memberHost(
        { name: CLUSTER, namespace },
        serverIdOfPod(CLUSTER, member.metadata?.name ?? '') ?? 0,
        'cluster.local',
      );

      // A client holding a certificate of the cluster CA is served; one without a certificate is refused.
      const session = await openClient(credentials)(`tls:${ip}:${serverName}`);
      t.teardown(() => session.close());
      await session.create('/tls-client', 'app', CREATE_MODE.persistent);
      t.is((await session.getData('/tls-client')).data.toString(), 'app');
      await t.throwsAsync(
        servedCertificate(ip, serverName, { ca: credentials.ca }),
        undefined,
        'no client certificate: refused',
      );
      // A client of the application's own CA (spec.tls.trustedClientCAs) is served too.
      const ownCertificate = await issueClientCertificate(appAuthority, {
        commonName: 'app-own-pki',
        notBefore: new Date(Date.now() - 60_000),
        notAfter: new Date(Date.now() + 3_600_000),
      });
      const ownPki = await openClient({
        ca: credentials.ca,
        cert: ownCertificate.certificatePem,
        key: ownCertificate.privateKeyPem,
      })(`tls:${ip}:${serverName}`);
      t.teardown(() => ownPki.close());
      t.is((await ownPki.getData('/tls-client')).data.toString(), 'app');
      t.true(climbed.clientConnectionString?.endsWith(`:${SECURE_PORT}`), 'status names the TLS client port');
      // Plaintext clients: the member's plaintext port listens on its pod's loopback only.
      await t.throwsAsync(
        askFourLetterWord(ip, 2181, 'srvr', 3_000),
        undefined,
        'plaintext port closed to the network',
      );
      t.regex(
        await askFourLetterWord(ip, SECURE_PORT, 'srvr', 5_000, { credentials, serverName }),
        /Mode: (leader|follower)/,
      );

      // Three renewals of every member certificate; the renewed one is served, no container restarts.
      const before = new Map(pods.map((pod) => [pod.metadata?.name, pod.metadata?.uid]));
      await patchCluster(namespace, CLUSTER, {
        spec: { tls: { certificates: { lifetime: '1h', renewBefore: '59m25s' } } },
      });
      const seen = new Map<string, Set<string>>();
      await pollUntil(
        'every member certificate renewed three times',
        async () => {
          for (const [name, notAfter] of memberExpiries((await readCluster(namespace, CLUSTER)).status ?? {})) {
            seen.set(name, new Set([...(seen.get(name) ?? []), notAfter]));
          }
          // The first value is the long-lived certificate; three more are three renewals.
          return seen.size === 3 && [...seen.values()].every((values) => values.size >= 4) ? true : undefined;
        },
        { timeoutMs: 600_000, intervalMs: 2_000 },
      );
      // The member serves what the Secret holds now: the renewal reached ZooKeeper without a restart.
      const inSecret = async () => {
        const secret = await core.readNamespacedSecret({ name: `${CLUSTER}-tls`, namespace });
        const keyStore = secretText(secret, memberKeyStoreKey(member.metadata?.name ?? '')) ?? '';
        return readCertificate(pemBlocks(keyStore, 'CERTIFICATE')[0] ?? '').fingerprint;
      };
      await pollUntil(
        `${member.metadata?.name} serving the certificate its Secret holds`,
        async () => {
          const served = await servedCertificate(ip, serverName, credentials).catch(() => undefined);
          return served !== undefined && served === (await inSecret()) ? true : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 1_000 },
      );
      await patchCluster(namespace, CLUSTER, {
        spec: { tls: { certificates: { lifetime: '2160h', renewBefore: null } } },
      });
      const after = await memberPods(namespace, CLUSTER);
      for (const pod of after) {
        t.is(pod.metadata?.uid, before.get(pod.metadata?.name), `${pod.metadata?.name} is the same pod`);
        t.is(pod.status?.containerStatuses?.[0]?.restartCount, 0, `${pod.metadata?.name}'s container never restarted`);
      }

      // Down: the same ladders in reverse.
      await patchCluster(namespace, CLUSTER, { spec: { tls: { quorum: false, client: false } } });
      const descended = await waitForStatus(
        namespace,
        CLUSTER,
        'back on plaintext',
        onPhases('plaintext', 'plaintext'),
        TLS_PHASES_MS,
      );
      t.false((await memberPods(namespace, CLUSTER)).some(servesTls), 'no member serves the TLS client port');
      t.not(descended.targetRevision, climbed.targetRevision);

      const report = await writer.stop();
      t.log(`writes acknowledged ${report.acknowledged}, longest gap ${report.longestGapMs} ms`);
      t.true(report.acknowledged > 0);
      t.deepEqual(report.lost, [], 'every acknowledged write survived');
      const restarts = (await clusterEvents(namespace, CLUSTER)).filter((e) => e.startsWith('Restarting'));
      t.log(restarts.join('\n'));
      t.log(`phases seen: ${phases(climbed)} -> ${phases(descended)}`);
    },
  );
}
