/**
 * Cluster certificates against the real control plane, with the operator under the chart's RBAC:
 * the CA and every member's key store are issued into Secrets the cluster owns, each certificate
 * verifies against the CA with the member's names, a short lifetime is renewed again and again
 * under the same CA, a member Secret deleted by hand comes back from the watch, and no private key
 * appears in an Event, the status or the operator's log.
 */
import { CoreV1Api, type V1Secret } from '@kubernetes/client-node';
import test from 'ava';
import { myidOfOrdinal } from '../../src/render/names.js';
import { memberDnsNames, secretText } from '../../src/render/tls-secrets.js';
import { isIssuedBy, keyMatches, pemBlocks, readCertificate } from '../../src/tls/x509.js';
import { controlPlane, newNamespace } from '../harness/fixture.js';
import { pollUntil } from '../harness/poll.js';
import { createCluster, waitForStatus } from '../support/clusters.js';
import { leakedKeyLines, saidAbout } from '../support/key-leaks.js';
import { runOperator } from '../support/operator.js';

const core = async () => (await controlPlane()).kubeConfig.makeApiClient(CoreV1Api);
const notFound = (error: { code?: number }) => {
  if (error.code === 404) return undefined;
  throw error;
};
const readSecret = async (namespace: string, name: string): Promise<V1Secret | undefined> =>
  (await core()).readNamespacedSecret({ namespace, name }).catch(notFound);

/** The member certificate in `NAME-tls`, checked against the CA Secret's certificate. */
function memberCertificate(tls: V1Secret, pod: string) {
  const keyStore = secretText(tls, `${pod}.pem`) ?? '';
  const [key] = pemBlocks(keyStore, 'PRIVATE KEY');
  const [certificate] = pemBlocks(keyStore, 'CERTIFICATE');
  if (key === undefined || certificate === undefined) throw new Error(`${pod}: no key store in ${tls.metadata?.name}`);
  return { key, certificate, facts: readCertificate(certificate) };
}

test('the operator issues a CA and member certificates into Secrets the cluster owns, renews them under the same CA, and never shows a key', async (t) => {
  const namespace = await newNamespace(t);
  const { logger } = await runOperator(t, namespace);
  // Renewed 30 s after each issuance: several renewals within the test.
  const cluster = await createCluster(namespace, 'zk', {
    replicas: 3,
    storage: { ephemeral: true },
    tls: { certificates: { lifetime: '1h', renewBefore: '59m30s' } },
  });
  const uid = cluster.metadata.uid;

  const issued = await pollUntil(
    'the CA and three key stores',
    async () => {
      const ca = await readSecret(namespace, 'zk-ca');
      const tls = await readSecret(namespace, 'zk-tls');
      return ca !== undefined && tls !== undefined && Object.keys(tls.data ?? {}).length === 4
        ? { ca, tls }
        : undefined;
    },
    { timeoutMs: 60_000 },
  );
  const caPem = secretText(issued.ca, 'ca.crt') ?? '';
  const caUid = issued.ca.metadata?.uid;
  for (const secret of [issued.ca, issued.tls]) {
    t.like(secret.metadata?.ownerReferences?.[0], {
      kind: 'ZooKeeperCluster',
      name: 'zk',
      uid,
      controller: true,
      blockOwnerDeletion: true,
    });
    t.is(secret.metadata?.labels?.['app.kubernetes.io/component'], 'tls');
  }
  t.true(keyMatches(caPem, secretText(issued.ca, 'ca.key') ?? ''));
  t.is(secretText(issued.tls, 'ca.crt'), caPem, 'members trust the cluster CA');
  for (const ordinal of [0, 1, 2]) {
    const member = memberCertificate(issued.tls, `zk-${ordinal}`);
    t.true(isIssuedBy(member.certificate, caPem), `zk-${ordinal} verifies against the CA`);
    t.true(keyMatches(member.certificate, member.key));
    t.deepEqual(
      member.facts.dnsNames,
      memberDnsNames({ name: 'zk', namespace }, myidOfOrdinal(ordinal), 'cluster.local'),
    );
    const life = member.facts.notAfter.getTime() - member.facts.notBefore.getTime();
    t.true(Math.abs(life - 61 * 60_000) < 5_000, `a lifetime of 1h (plus the minute of backdating): ${life} ms`);
  }

  const status = await waitForStatus(
    namespace,
    'zk',
    'the certificates in status',
    (s) => s.tls?.certificates?.length === 4,
    60_000,
  );
  t.deepEqual(
    status.tls?.certificates?.map((c) => `${c.name} ${c.secret}`),
    ['ca zk-ca', 'zk-0 zk-tls', 'zk-1 zk-tls', 'zk-2 zk-tls'],
  );
  t.like(
    status.conditions?.find((c) => c.type === 'CertificateExpiringSoon'),
    { status: 'False' },
  );

  // Renewals: zk-0's certificate changes at least three times, always under the same CA.
  const seen = new Set([memberCertificate(issued.tls, 'zk-0').facts.fingerprint]);
  await pollUntil(
    'three renewals of zk-0',
    async () => {
      const tls = await readSecret(namespace, 'zk-tls');
      if (tls === undefined) return undefined;
      const member = memberCertificate(tls, 'zk-0');
      if (!isIssuedBy(member.certificate, caPem)) throw new Error('a renewal under another CA');
      seen.add(member.facts.fingerprint);
      return seen.size >= 4 ? true : undefined;
    },
    { timeoutMs: 240_000, intervalMs: 1_000 },
  );
  const ca = await readSecret(namespace, 'zk-ca');
  t.is(ca?.metadata?.uid, caUid, 'the CA Secret survives every renewal');
  t.is(secretText(ca, 'ca.crt'), caPem, 'and holds the same CA');

  // Deleted by hand, the member Secret comes back from the watch, under the same CA.
  await (await core()).deleteNamespacedSecret({ namespace, name: 'zk-tls' });
  const recreated = await pollUntil(
    'zk-tls recreated',
    async () => {
      const tls = await readSecret(namespace, 'zk-tls');
      return tls !== undefined && Object.keys(tls.data ?? {}).length === 4 ? tls : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
  t.true(isIssuedBy(memberCertificate(recreated, 'zk-2').certificate, caPem));

  // No private key in Events, status or the operator's log: not the PEM header, not a line of any key.
  const said = await saidAbout(namespace, 'zk', logger.lines);
  t.true(
    said.events.some((e) => e.reason === 'CertificateIssued'),
    'issuance is reported',
  );
  const keys = [
    ...pemBlocks(secretText(ca, 'ca.key') ?? '', 'PRIVATE KEY'),
    ...['zk-0', 'zk-1', 'zk-2'].map((pod) => memberCertificate(recreated, pod).key),
  ];
  t.deepEqual(leakedKeyLines(said, keys), []);
});
