/**
 * The real cert-manager controller on the test control plane (test/support/cert-manager.ts), end
 * to end: a SelfSigned Issuer makes a CA, a CA Issuer from that CA's Secret signs a leaf, a
 * renewal issues anew (asked for, and when renewBefore says so), and a cluster-wide cert-manager
 * serves ClusterIssuers. The certificates are checked with node:crypto, not taken on trust.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import test from 'ava';
import { newNamespace } from '../harness/fixture.js';
import {
  CERT_MANAGER_API_VERSION,
  CERT_MANAGER_GROUP,
  CERT_MANAGER_VERSION,
  createCaIssuer,
  createCertificate,
  customObjects,
  startCertManager,
} from '../support/cert-manager.js';

test('a CA Issuer made from a SelfSigned CA Certificate issues a leaf whose Secret holds tls.crt, tls.key and ca.crt, signed by that CA', async (t) => {
  const namespace = await newNamespace(t);
  const certManager = await startCertManager(t, { namespace, log: (line) => t.log(line) });
  await t.throwsAsync(
    startCertManager(t, { namespace }),
    { message: /already runs for namespace .* one per namespace/ },
    'a second cert-manager for the same namespace is refused',
  );
  await t.throwsAsync(
    startCertManager(t, { namespace: 'zkop-no-such-namespace' }),
    { message: /scope Lease could not be used/ },
    'a namespace that does not exist fails at once',
  );
  const root = await createCaIssuer(certManager);
  const dnsName = `example-0.example-headless.${namespace}.svc.cluster.local`;
  await createCertificate(namespace, 'leaf', {
    secretName: 'leaf-tls',
    dnsNames: [dnsName],
    issuerRef: { name: 'ca', kind: 'Issuer' },
  });
  const certificate = await certManager.waitForCertificate('leaf');
  t.is(certificate.status?.revision, 1);

  const secret = await certManager.readSecret('leaf-tls');
  t.truthy(secret['ca.crt'], 'the Secret holds ca.crt');
  const leaf = new X509Certificate(secret['tls.crt']);
  const ca = new X509Certificate(secret['ca.crt'] ?? '');
  t.true(ca.ca, 'ca.crt is a CA certificate');
  t.false(leaf.ca, 'tls.crt is no CA certificate');
  t.is(ca.fingerprint256, new X509Certificate(root['tls.crt']).fingerprint256, "ca.crt is the CA Secret's certificate");
  t.true(leaf.verify(ca.publicKey), 'tls.crt is signed by ca.crt');
  t.true(leaf.checkIssued(ca), "tls.crt's issuer is ca.crt's subject");
  t.true(leaf.checkPrivateKey(createPrivateKey(secret['tls.key'])), 'tls.key is the key of tls.crt');
  t.is(leaf.subjectAltName, `DNS:${dnsName}`);
});

test('a renewal asked for as cmctl renew does issues revision 2 with a new key from the same CA', async (t) => {
  const namespace = await newNamespace(t);
  const certManager = await startCertManager(t, { namespace, log: (line) => t.log(line) });
  const root = await createCaIssuer(certManager);
  await createCertificate(namespace, 'leaf', {
    secretName: 'leaf-tls',
    dnsNames: ['leaf.example.test'],
    // cert-manager v1.11 keeps the private key on renewal unless told otherwise.
    privateKey: { rotationPolicy: 'Always' },
    issuerRef: { name: 'ca', kind: 'Issuer' },
  });
  await certManager.waitForCertificate('leaf');
  const first = await certManager.readSecret('leaf-tls');

  await certManager.renew('leaf');
  const renewed = await certManager.waitForCertificate('leaf', { minRevision: 2 });
  t.is(renewed.status?.revision, 2);
  const second = await certManager.readSecret('leaf-tls');
  const [before, after] = [new X509Certificate(first['tls.crt']), new X509Certificate(second['tls.crt'])];
  t.not(after.serialNumber, before.serialNumber, 'a new certificate');
  t.not(second['tls.key'], first['tls.key'], 'a new private key');
  t.true(after.checkPrivateKey(createPrivateKey(second['tls.key'])));
  t.true(after.verify(new X509Certificate(root['tls.crt']).publicKey), 'signed by the same CA');
});

test('a Certificate whose renewBefore leaves it 10 s of its hour is issued anew by then', async (t) => {
  const namespace = await newNamespace(t);
  const certManager = await startCertManager(t, { namespace, log: (line) => t.log(line) });
  await createCaIssuer(certManager);
  // cert-manager's webhook (not run here) would refuse durations under 1 h; renewBefore close to
  // the duration makes the renewal come soon all the same.
  await createCertificate(namespace, 'short', {
    secretName: 'short-tls',
    dnsNames: ['short.example.test'],
    duration: '1h',
    renewBefore: '59m50s',
    issuerRef: { name: 'ca', kind: 'Issuer' },
  });
  const first = await certManager.waitForCertificate('short');
  const renewalTime = Date.parse(first.status?.renewalTime ?? '');
  t.is(Date.parse(first.status?.notAfter ?? '') - renewalTime, 3_590_000, 'renewal is due 59m50s before expiry');
  const renewed = await certManager.waitForCertificate('short', { minRevision: 2, timeoutMs: 60_000 });
  t.true(Date.parse(renewed.status?.notBefore ?? '') >= renewalTime, 'the new certificate dates from its renewal time');
});

// Serial: a cluster-wide cert-manager waits for every namespaced one to stop (they would act on
// the same Certificates), and ava runs serial tests before the concurrent ones.
test.serial(
  'a cluster-wide cert-manager issues a Certificate in any namespace from a ClusterIssuer whose CA Secret is in its cluster resource namespace',
  async (t) => {
    const resourceNamespace = await newNamespace(t);
    const namespace = await newNamespace(t);
    const certManager = await startCertManager(t, {
      namespace: resourceNamespace,
      clusterIssuers: true,
      log: (line) => t.log(line),
    });
    const root = await createCaIssuer(certManager);
    const clusterIssuer = `zkop-test-ca-${resourceNamespace}`;
    const api = await customObjects();
    await api.createClusterCustomObject({
      group: CERT_MANAGER_GROUP,
      version: CERT_MANAGER_VERSION,
      plural: 'clusterissuers',
      body: {
        apiVersion: CERT_MANAGER_API_VERSION,
        kind: 'ClusterIssuer',
        metadata: { name: clusterIssuer },
        spec: { ca: { secretName: 'root-ca' } },
      },
    });
    t.teardown(() =>
      api.deleteClusterCustomObject({
        group: CERT_MANAGER_GROUP,
        version: CERT_MANAGER_VERSION,
        plural: 'clusterissuers',
        name: clusterIssuer,
      }),
    );
    await createCertificate(namespace, 'leaf', {
      secretName: 'leaf-tls',
      dnsNames: ['leaf.example.test'],
      issuerRef: { name: clusterIssuer, kind: 'ClusterIssuer' },
    });
    await certManager.waitForCertificate('leaf', { namespace });
    const secret = await certManager.readSecret('leaf-tls', namespace);
    t.true(new X509Certificate(secret['tls.crt']).verify(new X509Certificate(root['tls.crt']).publicKey));
    t.is(secret['ca.crt'], root['tls.crt']);
  },
);
