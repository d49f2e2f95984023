/** cert-manager's Certificate of a cluster's CA: rendered from spec and the CA issued so far, compared field by field, explained while pending. */
import test from 'ava';
import { resolveTls } from '../../../src/api/defaults.js';
import {
  caCertificateCurrent,
  caCertificateWaiting,
  caGeneration,
  renderCaCertificate,
} from '../../../src/render/cert-manager.js';
import { aCluster } from '../../support/builders.js';

const cluster = aCluster({
  tls: { certificates: { issuerRef: { name: 'org-ca', kind: 'ClusterIssuer' }, caLifetime: '8760h' } },
});
const certificates = resolveTls(cluster.spec.tls ?? {}).certificates;
const T0 = new Date('2026-12-01T00:00:00Z');
const HOUR = 3_600_000;
/** A CA cert-manager issued at T0 for 300 hours, of generation `n`. */
const issued = (n: number) => ({
  commonName: `zookeeper-operator CA for default/example (cert-manager #${n})`,
  notBefore: T0,
  notAfter: new Date(T0.getTime() + 300 * HOUR),
});
const render = (ca = issued(1), now = T0) => {
  if (certificates.ca.kind !== 'issuer') throw new Error('no issuer');
  return renderCaCertificate(cluster, { ...certificates, ca: certificates.ca }, ca, now);
};

test('the CA Certificate asks the named issuer for a CA of caLifetime, renewed at two thirds, into NAME-issued-ca, owned by the cluster', (t) => {
  const certificate = render();
  t.is(certificate.metadata.name, `${cluster.metadata.name}-ca`);
  t.is(certificate.metadata.ownerReferences[0]?.uid, cluster.metadata.uid);
  t.like(certificate.spec, {
    isCA: true,
    secretName: `${cluster.metadata.name}-issued-ca`,
    duration: '8760h0m0s',
    renewBefore: '876h0m0s',
    issuerRef: { name: 'org-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' },
  });
  t.deepEqual(render(), certificate, 'the same spec renders the same object');
});

test('a live Certificate is current when every field the operator sets says the same, whatever cert-manager adds', (t) => {
  const wanted = render();
  t.true(caCertificateCurrent({ spec: { ...wanted.spec, revisionHistoryLimit: 1 } }, wanted));
  t.false(caCertificateCurrent({ spec: { ...wanted.spec, duration: '2160h0m0s' } }, wanted));
  t.false(caCertificateCurrent(undefined, wanted));
});

test('while its Secret is missing, the status says what cert-manager says', (t) => {
  t.regex(caCertificateWaiting(undefined, 'zk-ca'), /has not issued Certificate zk-ca yet/);
  t.regex(caCertificateWaiting({ status: {} }, 'zk-ca'), /is cert-manager running/);
  t.is(
    caCertificateWaiting(
      {
        status: {
          conditions: [{ type: 'Ready', status: 'False', reason: 'Pending', message: 'issuer org-ca not found' }],
        },
      },
      'zk-ca',
    ),
    'Certificate zk-ca is not ready: Pending issuer org-ca not found',
  );
});

test('the CA generation in the common name stays until two thirds of the CA’s life, then moves on: cert-manager issues a CA of a subject of its own', (t) => {
  t.is(caGeneration(undefined, T0), 1, 'the first');
  t.is(caGeneration(issued(4), new Date(T0.getTime() + 199 * HOUR)), 4);
  t.is(caGeneration(issued(4), new Date(T0.getTime() + 200 * HOUR)), 5, 'due at two thirds');
  t.is(caGeneration({ ...issued(1), commonName: 'zookeeper-operator CA for default/example (cert-manager)' }, T0), 1);
  t.regex(render(issued(4), new Date(T0.getTime() + 250 * HOUR)).spec.commonName, /\(cert-manager #5\)$/);
  t.true(caCertificateCurrent({ spec: render().spec }, render()), 'not due: the same spec, nothing to write');
});
