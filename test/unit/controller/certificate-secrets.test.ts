/**
 * Reading the certificate Secrets into facts: whatever a person (or a failed write) left in
 * them, observing never throws; a CA or key store that cannot be used is said to be unusable,
 * with a reason that quotes none of its content.
 */
import type { V1Secret } from '@kubernetes/client-node';
import test from 'ava';
import fc from 'fast-check';
import { observeCertificates } from '../../../src/controller/certificate-secrets.js';
import type { ReconcilerDependencies, TlsSecretStore } from '../../../src/controller/dependencies.js';
import { ownerReference } from '../../../src/render/cluster.js';
import { renderCaSecret, renderTlsSecret } from '../../../src/render/tls-secrets.js';
import { createCertificateAuthority, issueCertificate } from '../../../src/tls/x509.js';
import { aCluster } from '../../support/builders.js';

const cluster = aCluster({ tls: {} });
const owned = { ownerReferences: [ownerReference(cluster)] };
const now = Date.now();

async function material() {
  const ca = await createCertificateAuthority({
    commonName: 'ca',
    notBefore: new Date(now),
    notAfter: new Date(now + 3_600_000),
  });
  const other = await createCertificateAuthority({
    commonName: 'other',
    notBefore: new Date(now),
    notAfter: new Date(now + 3_600_000),
  });
  const member = await issueCertificate(ca, {
    commonName: 'example-0',
    dnsNames: ['a'],
    notBefore: new Date(now),
    notAfter: new Date(now + 1_800_000),
  });
  const stranger = await issueCertificate(other, {
    commonName: 'example-1',
    dnsNames: ['b'],
    notBefore: new Date(now),
    notAfter: new Date(now + 1_800_000),
  });
  return { ca, other, member, stranger };
}

function observe(secrets: Record<string, V1Secret>) {
  const tls: TlsSecretStore = {
    cached: (_namespace, name) => secrets[name],
    read: async () => undefined,
    create: async () => {},
    replace: async () => {},
  };
  return observeCertificates({ tls } as unknown as ReconcilerDependencies, cluster, undefined, new Date());
}

const raw = (name: string, data: Record<string, string>): V1Secret => ({
  metadata: { name, namespace: 'default', resourceVersion: '1', ...owned },
  data: Object.fromEntries(Object.entries(data).map(([key, text]) => [key, Buffer.from(text).toString('base64')])),
});

test('the CA and key stores as the operator writes them: present, each member by the CA that signed it', async (t) => {
  const { ca, member, stranger } = await material();
  const observed = observe({
    'example-ca': renderCaSecret(cluster, { ...ca, since: new Date() }, '1'),
    'example-tls': renderTlsSecret(
      cluster,
      ca.certificatePem,
      new Map([
        ['example-0', `${member.privateKeyPem}${member.certificatePem}`],
        ['example-1', `${stranger.privateKeyPem}${stranger.certificatePem}`],
        ['example-2', `${member.privateKeyPem}${stranger.certificatePem}`],
        ['example-3', 'garbage'],
      ]),
      '1',
    ),
  });
  t.is(observed.ca.kind, 'present');
  if (observed.memberSecret.kind !== 'present') return t.fail();
  const members = observed.memberSecret.members;
  t.like(members['example-0'], { kind: 'present', issuer: 'current' });
  t.like(members['example-1'], { kind: 'present', issuer: 'other' });
  t.deepEqual(members['example-2'], {
    kind: 'unusable',
    problem: 'its private key does not belong to its certificate',
  });
  t.deepEqual(members['example-3'], {
    kind: 'unusable',
    problem: 'its key store lacks a private key or a certificate',
  });
});

test('a CA whose key is another’s, or without a certificate, is unusable; one without the cluster as owner is not owned', async (t) => {
  const { ca, other } = await material();
  t.deepEqual(
    observe({ 'example-ca': raw('example-ca', { 'ca.crt': ca.certificatePem, 'ca.key': other.privateKeyPem }) }).ca,
    {
      kind: 'unusable',
      problem: 'its private key does not belong to its certificate',
      resourceVersion: '1',
    },
  );
  // A CA without its key is one of the user's or cert-manager's: present, and it signs nothing from here.
  t.like(observe({ 'example-ca': raw('example-ca', { 'ca.crt': ca.certificatePem }) }).ca, {
    kind: 'present',
    holdsKey: false,
  });
  t.like(observe({ 'example-ca': raw('example-ca', { 'ca.key': ca.privateKeyPem }) }).ca, { kind: 'unusable' });
  const planted = raw('example-ca', { 'ca.crt': ca.certificatePem, 'ca.key': ca.privateKeyPem });
  planted.metadata = { ...planted.metadata, ownerReferences: [] };
  t.like(observe({ 'example-ca': planted }).ca, { kind: 'notOwned' });
});

test('property: whatever the Secrets hold, observing never throws and never quotes their content', async (t) => {
  const { ca } = await material();
  const pieces = fc.oneof(
    fc.string(),
    fc.constant(ca.certificatePem),
    fc.constant(ca.privateKeyPem),
    fc.constant('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'),
    fc.constant('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'),
  );
  const text = fc.array(pieces, { maxLength: 4 }).map((parts) => parts.join(''));
  fc.assert(
    fc.property(
      fc.record({ 'ca.crt': text, 'ca.key': text, 'previous-ca.crt': text }, { requiredKeys: [] }),
      fc.dictionary(fc.constantFrom('ca.crt', 'example-0.pem', 'example-1.pem', 'x'), text),
      (caData, tlsData) => {
        const observed = observe({
          'example-ca': raw('example-ca', caData as Record<string, string>),
          'example-tls': raw('example-tls', tlsData),
        });
        const said = JSON.stringify([observed.ca, observed.memberSecret]);
        t.false(said.includes('PRIVATE KEY') || said.includes(ca.privateKeyPem.split('\n')[1] ?? '-'));
      },
    ),
    { numRuns: 200 },
  );
});
