/** cert-manager's Certificate of a cluster's CA: rendered from spec alone, compared field by field, explained while pending. */
import test from 'ava';
import { resolveTls } from '../../../src/api/defaults.js';
import { caCertificateCurrent, caCertificateWaiting, renderCaCertificate } from '../../../src/render/cert-manager.js';
import { aCluster } from '../../support/builders.js';

const cluster = aCluster({
  tls: { certificates: { issuerRef: { name: 'org-ca', kind: 'ClusterIssuer' }, caLifetime: '8760h' } },
});
const certificates = resolveTls(cluster.spec.tls ?? {}).certificates;
const render = () => {
  if (certificates.ca.kind !== 'issuer') throw new Error('no issuer');
  return renderCaCertificate(cluster, { ...certificates, ca: certificates.ca });
};

test('the CA Certificate asks the named issuer for a CA of caLifetime, renewed at two thirds, into NAME-issued-ca, owned by the cluster', (t) => {
  const certificate = render();
  t.is(certificate.metadata.name, `${cluster.metadata.name}-ca`);
  t.is(certificate.metadata.ownerReferences[0]?.uid, cluster.metadata.uid);
  t.like(certificate.spec, {
    isCA: true,
    secretName: `${cluster.metadata.name}-issued-ca`,
    duration: '8760h0m0s',
    renewBefore: '2920h0m0s',
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
