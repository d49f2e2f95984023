/**
 * Member certificates from a CA of the user's (`spec.tls.certificates.caSecretName`) against the
 * real control plane, the operator under the chart's RBAC: while the named Secret is missing the
 * cluster is Degraded with a reason that names it and nothing is issued; once it holds an RSA
 * intermediate with a PKCS#1 key, every member is issued under it, `NAME-ca` holds its
 * certificate but never its key, and members trust the intermediate alone (not the root it
 * chains to). A new CA in the Secret rolls in with the overlap: both trusted, nobody moved yet.
 * No key of the user's appears in an Event, the status or the operator's log.
 */
import { CoreV1Api, type V1Secret } from '@kubernetes/client-node';
import test from 'ava';
import { secretText } from '../../src/render/tls-secrets.js';
import { isIssuedBy, pemBlocks, readCertificate } from '../../src/tls/x509.js';
import { controlPlane, newNamespace } from '../harness/fixture.js';
import { pollUntil } from '../harness/poll.js';
import { createCluster, waitForStatus } from '../support/clusters.js';
import { leakedKeyLines, saidAbout } from '../support/key-leaks.js';
import { runOperator } from '../support/operator.js';
import { userCa, userCaSecret } from '../support/user-pki.js';

const core = async () => (await controlPlane()).kubeConfig.makeApiClient(CoreV1Api);
const readSecret = async (namespace: string, name: string): Promise<V1Secret | undefined> =>
  (await core()).readNamespacedSecret({ namespace, name }).catch((error: { code?: number }) => {
    if (error.code === 404) return undefined;
    throw error;
  });
const memberCertificate = (tls: V1Secret, pod: string): string =>
  pemBlocks(secretText(tls, `${pod}.pem`) ?? '', 'CERTIFICATE')[0] ?? '';

test('members are issued under the CA in a Secret the user names, which keeps its key; a new CA there rolls in with the overlap', async (t) => {
  const namespace = await newNamespace(t);
  const { logger } = await runOperator(t, namespace);
  await createCluster(namespace, 'zk', {
    replicas: 3,
    storage: { ephemeral: true },
    tls: { certificates: { caSecretName: 'org-ca' } },
  });

  const degraded = await waitForStatus(
    namespace,
    'zk',
    'Degraded: the CA Secret is missing',
    (s) => s.conditions?.some((c) => c.type === 'Degraded' && c.reason === 'CaSecretMissing') ?? false,
    60_000,
  );
  t.regex(
    degraded.conditions?.find((c) => c.reason === 'CaSecretMissing')?.message ?? '',
    /Secret org-ca, named in spec.tls.certificates.caSecretName, does not exist/,
  );
  t.is(await readSecret(namespace, 'zk-tls'), undefined, 'nothing is issued without the CA');

  const first = await userCa({ commonName: 'ZooKeeper Intermediate 1' });
  await (await core()).createNamespacedSecret({ namespace, body: userCaSecret(namespace, 'org-ca', first) });
  const issued = await pollUntil(
    'three key stores under the user’s CA',
    async () => {
      const tls = await readSecret(namespace, 'zk-tls');
      return tls !== undefined && Object.keys(tls.data ?? {}).length === 4 ? tls : undefined;
    },
    { timeoutMs: 60_000 },
  );
  const ca = await readSecret(namespace, 'zk-ca');
  t.is(secretText(ca, 'ca.crt'), first.caPem, 'NAME-ca records the intermediate');
  t.is(secretText(ca, 'ca.key'), undefined, 'and never the user’s key');
  t.is(secretText(issued, 'ca.crt'), first.caPem, 'members trust the intermediate alone, not the root');
  for (const pod of ['zk-0', 'zk-1', 'zk-2']) {
    t.true(isIssuedBy(memberCertificate(issued, pod), first.caPem), `${pod} is issued by the user’s CA`);
  }
  t.true(
    (secretText(issued, 'zk-0.pem') ?? '').includes(first.rootPem),
    'each key store carries the chain up to the root, for peers that trust only the root',
  );
  const current = await waitForStatus(
    namespace,
    'zk',
    'the user’s CA in status, and no longer Degraded',
    (s) =>
      s.tls?.certificates?.[0]?.secret === 'org-ca' &&
      !(s.conditions?.some((c) => c.type === 'Degraded' && c.status === 'True') ?? false),
    60_000,
  );
  t.is(current.tls?.certificates?.[0]?.notAfter, readCertificate(first.caPem).notAfter.toISOString());

  // The user replaces the CA: both trusted at once, every member still on the first one.
  const second = await userCa({ commonName: 'ZooKeeper Intermediate 2' });
  await (await core()).replaceNamespacedSecret({
    namespace,
    name: 'org-ca',
    body: userCaSecret(namespace, 'org-ca', second),
  });
  const overlapping = await pollUntil(
    'both CAs trusted',
    async () => {
      const tls = await readSecret(namespace, 'zk-tls');
      return secretText(tls, 'ca.crt') === `${second.caPem}${first.caPem}` ? tls : undefined;
    },
    // The operator reads the user's Secret on each pass; a settled cluster passes at the resync.
    { timeoutMs: 150_000, intervalMs: 1_000 },
  );
  const rolled = await readSecret(namespace, 'zk-ca');
  t.is(secretText(rolled, 'ca.crt'), second.caPem);
  t.is(secretText(rolled, 'previous-ca.crt'), first.caPem);
  for (const pod of ['zk-0', 'zk-1', 'zk-2']) {
    t.true(
      isIssuedBy(memberCertificate(overlapping, pod), first.caPem),
      `${pod} keeps its certificate until every member trusts the new CA`,
    );
  }

  const said = await saidAbout(namespace, 'zk', logger.lines);
  t.true(said.events.some((e) => e.reason === 'CaRolledOver'));
  t.deepEqual(leakedKeyLines(said, [first.privateKeyPem, second.privateKeyPem]), []);
});
