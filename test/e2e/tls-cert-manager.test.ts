/**
 * TLS under a CA of the user's, end to end on the real control plane with the real cert-manager
 * controller and ZooKeeper 3.9.4, while a client writes throughout: a new cluster asks cert-manager
 * for its CA (`spec.tls.certificates.issuerRef`), forms on quorum and client TLS with member
 * certificates the operator signs under that CA (an intermediate of the user's CA Issuer), and
 * serves a client whose certificate comes from it. Then the spec names the user's own RSA
 * intermediate instead (`caSecretName`): the operator rolls it in while TLS is on, members trust
 * both CAs, move to certificates of the new one and serve them, with no container restarted and
 * no acknowledged write lost; a client of the new CA reads what one of the old one wrote.
 */
import { X509Certificate } from 'node:crypto';
import { CoreV1Api } from '@kubernetes/client-node';
import test from 'ava';
import { memberHost, serverIdOfPod } from '../../src/render/names.js';
import { memberKeyStoreKey, secretText } from '../../src/render/tls-secrets.js';
import { isIssuedBy, issueClientCertificate, pemBlocks, readCertificate } from '../../src/tls/x509.js';
import type { ClientTls } from '../../src/zookeeper/transport.js';
import { CREATE_MODE } from '../../src/zookeeper/wire-protocol.js';
import { controlPlane, newNamespace } from '../harness/fixture.js';
import { pollUntil } from '../harness/poll.js';
import { createCaIssuer, startCertManager } from '../support/cert-manager.js';
import { createCluster, FORMED_MS, memberPods, patchCluster, readCluster, waitForStatus } from '../support/clusters.js';
import { runOperator } from '../support/operator.js';
import { onPhases, openClient, readyMembers, servedCertificate } from '../support/tls-clients.js';
import { userCa, userCaSecret } from '../support/user-pki.js';
import { ZnodeWriter } from '../support/znode-writer.js';

const CLUSTER = 'zk';
const PODS = ['zk-0', 'zk-1', 'zk-2'];

test('zookeeper:3.9.4 under a CA cert-manager issues: formed on TLS, a client of that CA served, then moved to the user’s own CA while TLS is on, without a restart, no write lost', async (t) => {
  // Formation, then a CA rollover: the members move once the new CA has been trusted for 5 minutes.
  t.timeout(25 * 60_000);
  const namespace = await newNamespace(t);
  await runOperator(t, namespace);
  const certManager = await startCertManager(t, { namespace });
  const orgRoot = await createCaIssuer(certManager);
  const core = (await controlPlane()).kubeConfig.makeApiClient(CoreV1Api);
  const readSecret = (name: string) => core.readNamespacedSecret({ namespace, name });

  await createCluster(namespace, CLUSTER, {
    replicas: 3,
    image: 'zookeeper:3.9.4',
    storage: { size: '1Gi', reclaimPolicy: 'Delete' },
    tls: { quorum: true, client: true, certificates: { issuerRef: { name: 'ca' } } },
  });
  const formed = await waitForStatus(
    namespace,
    CLUSTER,
    'Running on TLS only',
    onPhases('tls-only', 'tls-only'),
    2 * FORMED_MS,
  );
  const first = await certManager.readSecret(`${CLUSTER}-issued-ca`);
  const firstCa = pemBlocks(first['tls.crt'], 'CERTIFICATE')[0] ?? '';
  t.true(
    new X509Certificate(firstCa).verify(new X509Certificate(orgRoot['tls.crt']).publicKey),
    'the cluster CA is an intermediate of the user’s CA Issuer',
  );
  t.is(secretText(await readSecret(`${CLUSTER}-ca`), 'ca.key'), undefined, 'its key stays in cert-manager’s Secret');
  t.is(formed.tls?.certificates?.[0]?.secret, `${CLUSTER}-issued-ca`);
  const memberCertificate = async (pod: string) =>
    pemBlocks(secretText(await readSecret(`${CLUSTER}-tls`), memberKeyStoreKey(pod)) ?? '', 'CERTIFICATE')[0] ?? '';
  for (const pod of PODS)
    t.true(isIssuedBy(await memberCertificate(pod), firstCa), `${pod} is signed by the cluster CA`);

  // An application's certificate from the cluster CA, as an administrator holding its Secret can issue.
  const appCredentials = async (ca: { 'tls.crt': string; 'tls.key': string }): Promise<ClientTls> => {
    const issued = await issueClientCertificate(
      { certificatePem: ca['tls.crt'], privateKeyPem: ca['tls.key'] },
      { commonName: 'app', notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3_600_000) },
    );
    return {
      ca: pemBlocks(ca['tls.crt'], 'CERTIFICATE')[0] ?? '',
      cert: issued.certificatePem,
      key: issued.privateKeyPem,
    };
  };
  // The user's own CA, which the cluster moves to later. The application is told of it ahead, as
  // an administrator distributes a new CA before switching: it trusts both, so it verifies members
  // before and after they move, while its own certificate is of the first CA.
  const own = await userCa({ commonName: 'ZooKeeper Intermediate (own PKI)' });
  const credentials = { ...(await appCredentials(first)), ca: `${firstCa}${own.caPem}` };
  const writer = await ZnodeWriter.start(
    () => readyMembers(namespace, CLUSTER),
    '/cert-manager',
    openClient(credentials),
  );
  t.teardown(() => writer.stop().catch(() => undefined));
  const pods = await memberPods(namespace, CLUSTER);
  const before = new Map(pods.map((pod) => [pod.metadata?.name, pod.metadata?.uid]));
  const member = pods[0];
  const ip = member?.status?.podIP ?? '';
  const serverName = memberHost(
    { name: CLUSTER, namespace },
    serverIdOfPod(CLUSTER, member?.metadata?.name ?? '') ?? 0,
    'cluster.local',
  );
  const session = await openClient(credentials)(`tls:${ip}:${serverName}`);
  t.teardown(() => session.close());
  await session.create('/app', 'first CA', CREATE_MODE.persistent);

  // The user moves the cluster to a CA of their own (an RSA intermediate): rolled in with the overlap.
  await core.createNamespacedSecret({ namespace, body: userCaSecret(namespace, 'own-ca', own) });
  await patchCluster(namespace, CLUSTER, {
    spec: { tls: { certificates: { issuerRef: null, caSecretName: 'own-ca' } } },
  });
  const second = { 'tls.crt': own.certificatePem, 'tls.key': own.privateKeyPem };
  const secondCa = own.caPem;
  await pollUntil(
    'members trust the old and the new CA',
    async () =>
      secretText(await readSecret(`${CLUSTER}-tls`), 'ca.crt') === `${secondCa}${firstCa}` ? true : undefined,
    { timeoutMs: 120_000, intervalMs: 2_000 },
  );
  await pollUntil(
    'every member holds a certificate of the new CA',
    async () => {
      for (const pod of PODS) if (!isIssuedBy(await memberCertificate(pod), secondCa)) return undefined;
      return true;
    },
    { timeoutMs: 600_000, intervalMs: 5_000 },
  );
  // Each member serves its new certificate: reloaded, not restarted.
  const newCredentials = await appCredentials(second);
  for (const pod of await memberPods(namespace, CLUSTER)) {
    const name = memberHost(
      { name: CLUSTER, namespace },
      serverIdOfPod(CLUSTER, pod.metadata?.name ?? '') ?? 0,
      'cluster.local',
    );
    const expected = readCertificate(await memberCertificate(pod.metadata?.name ?? '')).fingerprint;
    // What the member serves, to a client trusting both CAs: said when it is not the new certificate.
    let served = 'nothing yet';
    await pollUntil(
      `${pod.metadata?.name} serving its certificate of the new CA`,
      async () => {
        served = await servedCertificate(pod.status?.podIP ?? '', name, {
          ...newCredentials,
          ca: `${secondCa}${firstCa}`,
        }).catch((error: Error) => error.message);
        return served === expected ? true : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 2_000 },
    ).catch((error: Error) => {
      throw new Error(`${error.message}; it serves ${served}, its Secret holds ${expected}`);
    });
  }
  const client = await openClient(newCredentials)(`tls:${ip}:${serverName}`);
  t.teardown(() => client.close());
  t.is(
    (await client.getData('/app')).data.toString(),
    'first CA',
    'a client of the new CA reads what one of the old wrote',
  );

  for (const pod of await memberPods(namespace, CLUSTER)) {
    t.is(pod.metadata?.uid, before.get(pod.metadata?.name), `${pod.metadata?.name} is the same pod`);
    t.is(pod.status?.containerStatuses?.[0]?.restartCount, 0, `${pod.metadata?.name}'s container never restarted`);
  }
  const status = (await readCluster(namespace, CLUSTER)).status;
  t.is(
    status?.tls?.certificates?.find((c) => c.name === 'ca')?.notAfter,
    readCertificate(secondCa).notAfter.toISOString(),
  );
  const report = await writer.stop();
  t.log(`writes acknowledged ${report.acknowledged}, longest gap ${report.longestGapMs} ms`);
  t.true(report.acknowledged > 0);
  t.deepEqual(report.lost, [], 'every acknowledged write survived');
});
