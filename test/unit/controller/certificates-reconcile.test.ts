/**
 * The reconciler's certificate step against fakes of its edges (real keys and certificates):
 * which Secrets it creates and replaces, with which resourceVersion, what it reports, and that no
 * private key reaches a log line, an Event or the status.
 */
import type { V1Secret, V1StatefulSet } from '@kubernetes/client-node';
import test from 'ava';
import type { ZooKeeperCluster, ZooKeeperClusterSpec } from '../../../src/api/types.js';
import type { ClusterWriter, TlsSecretStore } from '../../../src/controller/dependencies.js';
import { clusterReconciler } from '../../../src/controller/reconciler.js';
import { myidOfOrdinal } from '../../../src/render/names.js';
import { memberDnsNames, secretText } from '../../../src/render/tls-secrets.js';
import { clusterGauges } from '../../../src/runtime/cluster-gauges.js';
import type { ReconcileContext } from '../../../src/runtime/controller.js';
import type { OwnedObject } from '../../../src/runtime/kube-writer.js';
import { MemoryLogger } from '../../../src/runtime/logging.js';
import { OperatorMetrics } from '../../../src/runtime/metrics.js';
import {
  createCertificateAuthority,
  isIssuedBy,
  keyMatches,
  pemBlocks,
  readCertificate,
} from '../../../src/tls/x509.js';
import { aCluster } from '../../support/builders.js';

const HOUR = 3_600_000;
const T0 = new Date('2026-12-02T08:00:00Z');

/** One cluster with no member pods yet (so no ensemble step), its objects and its certificate Secrets. */
class World {
  readonly objects = new Map<string, OwnedObject>();
  readonly secrets = new Map<string, V1Secret>();
  readonly writes: string[] = [];
  readonly events: string[] = [];
  readonly logger = new MemoryLogger();
  readonly metrics = new OperatorMetrics({ processMetrics: false });
  now = T0;
  secretReads = 0;
  /** Secrets the cache cannot see (no labels, or not delivered yet by the watch). */
  readonly hidden = new Map<string, V1Secret>();
  /** The user's own Secrets spec names (spec.tls.trustedClientCAs), by name. */
  readonly userSecrets = new Map<string, V1Secret>();
  failReplaceWith: unknown;
  private resourceVersion = 0;

  constructor(public cluster: ZooKeeperCluster) {}

  readonly tls: TlsSecretStore = {
    cached: (_namespace, name) => {
      this.secretReads += 1;
      return this.secrets.get(name);
    },
    read: async (_namespace, name) => {
      this.writes.push(`read Secret/${name}`);
      return this.hidden.get(name) ?? this.secrets.get(name);
    },
    create: async (secret) => {
      const name = secret.metadata?.name ?? '';
      this.writes.push(`create Secret/${name}`);
      if (this.secrets.has(name) || this.hidden.has(name)) {
        throw Object.assign(new Error('HTTP-Code: 409'), {
          code: 409,
          body: JSON.stringify({
            kind: 'Status',
            reason: 'AlreadyExists',
            code: 409,
            message: `secrets "${name}" already exists`,
          }),
        });
      }
      this.store(secret);
    },
    replace: async (secret) => {
      const name = secret.metadata?.name ?? '';
      this.writes.push(`replace Secret/${name} at ${secret.metadata?.resourceVersion}`);
      if (this.failReplaceWith !== undefined) throw this.failReplaceWith;
      if (this.secrets.get(name)?.metadata?.resourceVersion !== secret.metadata?.resourceVersion) {
        throw Object.assign(new Error('HTTP-Code: 409'), {
          code: 409,
          body: JSON.stringify({
            kind: 'Status',
            reason: 'Conflict',
            code: 409,
            message: 'the object has been modified',
          }),
        });
      }
      this.store(secret);
    },
  };

  /** Body lines of every private key a Secret ever held. */
  readonly keyLines = new Set<string>();

  private store(secret: V1Secret) {
    for (const key of Object.keys(secret.data ?? {})) {
      for (const pem of pemBlocks(secretText(secret, key) ?? '', 'PRIVATE KEY')) {
        for (const line of pem.split('\n')) if (line.length > 0 && !line.startsWith('-----')) this.keyLines.add(line);
      }
    }
    const stored = structuredClone(secret);
    stored.metadata = { ...stored.metadata, resourceVersion: String(++this.resourceVersion) };
    this.secrets.set(stored.metadata.name ?? '', stored);
  }

  reconcile() {
    const writer: Partial<ClusterWriter> = {
      apply: async (object) => {
        this.objects.set(`${object.kind}/${object.metadata?.name}`, structuredClone(object));
      },
      superUserSecret: async () => ({ kind: 'owned', password: 'secret' }),
      applyClusterStatus: async (_namespace, _name, status) => {
        this.writes.push(`status ${status.phase}`);
        this.cluster = { ...this.cluster, status: structuredClone(status) };
      },
    };
    const reconciler = clusterReconciler({
      cache: {
        cluster: () => this.cluster,
        owned: (kind, _namespace, name) => this.objects.get(`${kind}/${name}`),
        memberPods: () => [],
        claims: () => [],
      },
      writer: writer as ClusterWriter,
      events: {
        record: async (_target, type, reason, message) => {
          this.events.push(`${type} ${reason}: ${message}`);
          return true;
        },
      },
      ensemble: { read: async () => [] },
      membership: () => {
        throw new Error('no membership change without members');
      },
      tls: this.tls,
      userSecrets: { read: async (_namespace, name) => this.userSecrets.get(name) },
      health: clusterGauges(this.metrics),
      now: () => this.now,
    });
    const ctx: ReconcileContext = {
      key: 'default/example',
      reconcileId: 'r',
      logger: this.logger,
      signal: new AbortController().signal,
    };
    return reconciler('default/example', ctx);
  }

  text(secret: string, key: string): string {
    return secretText(this.secrets.get(secret), key) ?? '';
  }
}

const tlsCluster = (spec: ZooKeeperClusterSpec = {}) => aCluster({ replicas: 3, tls: { certificates: {} }, ...spec });

test('a cluster without spec.tls: no certificate Secret is read or written, and the status has no tls', async (t) => {
  const world = new World(aCluster({ replicas: 3 }));
  await world.reconcile();
  await world.reconcile();
  t.is(world.secretReads, 0);
  t.deepEqual(world.writes, ['status Creating']);
  t.is(world.cluster.status?.tls, undefined);
  t.false(world.cluster.status?.conditions?.some((c) => c.type === 'CertificateExpiringSoon') ?? true);
});

test('spec.tls: the CA, then every member’s key store, each certificate verifying against the CA with its names', async (t) => {
  const world = new World(tlsCluster());
  await world.reconcile();
  t.deepEqual(world.writes, ['create Secret/example-ca', 'create Secret/example-tls', 'status Creating']);
  const ca = world.text('example-ca', 'ca.crt');
  t.true(keyMatches(ca, world.text('example-ca', 'ca.key')));
  t.is(world.text('example-tls', 'ca.crt'), ca, 'members trust the CA');
  for (const ordinal of [0, 1, 2]) {
    const keyStore = world.text('example-tls', `example-${ordinal}.pem`);
    const [key] = pemBlocks(keyStore, 'PRIVATE KEY');
    const [certificate, chain] = pemBlocks(keyStore, 'CERTIFICATE');
    t.true(keyMatches(certificate ?? '', key ?? ''));
    t.true(isIssuedBy(certificate ?? '', ca));
    t.is(chain, ca, 'the key store carries the CA after the certificate');
    const facts = readCertificate(certificate ?? '');
    t.deepEqual(facts.dnsNames, memberDnsNames(world.cluster.metadata, myidOfOrdinal(ordinal), 'cluster.local'));
    t.is(facts.notAfter.getTime(), T0.getTime() + 2160 * HOUR);
  }
  const owner = world.secrets.get('example-ca')?.metadata?.ownerReferences?.[0];
  t.like(owner, { kind: 'ZooKeeperCluster', name: 'example', controller: true, blockOwnerDeletion: true });
  t.deepEqual(world.secrets.get('example-tls')?.metadata?.labels?.['app.kubernetes.io/component'], 'tls');
  t.deepEqual(
    world.events.filter((e) => e.includes('Secret example-')),
    [
      `Normal CaCreated: Secret example-ca: the cluster has no CA yet; it expires at ${new Date(T0.getTime() + 43800 * HOUR).toISOString()}`,
      ...[0, 1, 2].map(
        (ordinal) =>
          `Normal CertificateIssued: issued the certificate of example-${ordinal} in Secret example-tls, valid until 2027-03-02T08:00:00.000Z (CertificateMissing: example-${ordinal} has no certificate)`,
      ),
    ],
  );

  world.writes.length = 0;
  await world.reconcile();
  t.deepEqual(world.writes, ['status Creating'], 'the status now reports the certificates');
  t.deepEqual(
    world.cluster.status?.tls?.certificates?.map((c) => `${c.name} ${c.secret} ${c.notAfter}`),
    [
      'ca example-ca 2031-12-01T08:00:00.000Z',
      'example-0 example-tls 2027-03-02T08:00:00.000Z',
      'example-1 example-tls 2027-03-02T08:00:00.000Z',
      'example-2 example-tls 2027-03-02T08:00:00.000Z',
    ],
  );
  t.like(
    world.cluster.status?.conditions?.find((c) => c.type === 'CertificateExpiringSoon'),
    { status: 'False', reason: 'CertificatesCurrent' },
  );
  world.writes.length = 0;
  await world.reconcile();
  t.deepEqual(world.writes, [], 'unchanged: no write at all');
  const gauge = (await world.metrics.registry.getMetricsAsJSON()).find(
    (m) => m.name === 'zookeeper_cluster_certificate_expiry_timestamp_seconds',
  );
  t.deepEqual(
    gauge?.values.map((v) => v.value),
    [Date.parse('2027-03-02T08:00:00Z') / 1000],
  );
  // spec.tls on a plaintext ensemble: both ladders on their first rung, as the status says.
  t.like(world.cluster.status?.tls, { quorum: 'plaintext', client: 'plaintext' });
  for (const name of ['zookeeper_cluster_tls_quorum_phase', 'zookeeper_cluster_tls_client_phase']) {
    const phase = (await world.metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
    t.deepEqual(
      phase?.values.map((v) => v.value),
      [0],
      name,
    );
  }
});

test('at the renewal point the key stores are replaced at the resourceVersion read; the CA stays', async (t) => {
  const world = new World(tlsCluster({ tls: { certificates: { lifetime: '3h', renewBefore: '1h' } } }));
  await world.reconcile();
  const ca = world.text('example-ca', 'ca.crt');
  const before = world.text('example-tls', 'example-0.pem');
  world.now = new Date(T0.getTime() + 2 * HOUR - 1000);
  world.writes.length = 0;
  await world.reconcile();
  t.false(
    world.writes.some((w) => w.includes('Secret')),
    'not yet',
  );
  world.now = new Date(T0.getTime() + 2 * HOUR);
  await world.reconcile();
  t.deepEqual(
    world.writes.filter((w) => w.includes('Secret')),
    ['replace Secret/example-tls at 2'],
  );
  t.is(world.text('example-ca', 'ca.crt'), ca);
  const after = world.text('example-tls', 'example-0.pem');
  t.not(after, before);
  const [certificate] = pemBlocks(after, 'CERTIFICATE');
  t.true(isIssuedBy(certificate ?? '', ca));
  t.is(readCertificate(certificate ?? '').notAfter.getTime(), T0.getTime() + 5 * HOUR);
  t.true(
    world.events.some(
      (e) => e.startsWith('Normal CertificateIssued: issued the certificate of example-2') && e.includes('RenewalDue'),
    ),
  );
});

test('a failed renewal is reported as Degraded and retried, and holds up nothing else', async (t) => {
  const world = new World(tlsCluster({ tls: { certificates: { lifetime: '3h', renewBefore: '1h' } } }));
  await world.reconcile();
  world.now = new Date(T0.getTime() + 2.5 * HOUR);
  world.failReplaceWith = Object.assign(new Error('HTTP-Code: 500'), {
    code: 500,
    body: JSON.stringify({
      kind: 'Status',
      reason: 'InternalError',
      code: 500,
      message: 'etcdserver: request timed out',
    }),
  });
  world.objects.clear();
  await t.throwsAsync(world.reconcile(), { message: /500/ });
  t.true(world.objects.has('StatefulSet/example'), 'the objects were applied all the same');
  t.like(
    world.cluster.status?.conditions?.find((c) => c.type === 'Degraded'),
    {
      status: 'True',
      reason: 'CertificateWriteFailed',
    },
  );
  t.true(world.events.some((e) => e.startsWith('Warning CertificateWriteFailed: replacing Secret example-tls failed')));
  // Past the middle of the renewal window, the condition warns.
  world.now = new Date(T0.getTime() + 2.5 * HOUR + 1);
  await t.throwsAsync(world.reconcile());
  t.like(
    world.cluster.status?.conditions?.find((c) => c.type === 'CertificateExpiringSoon'),
    {
      status: 'True',
      reason: 'RenewalOverdue',
    },
  );
  world.failReplaceWith = undefined;
  await world.reconcile();
  await world.reconcile();
  t.like(
    world.cluster.status?.conditions?.find((c) => c.type === 'CertificateExpiringSoon'),
    { status: 'False' },
  );
});

test('a CA Secret planted with the operator’s labels but no owner is never used or replaced', async (t) => {
  const world = new World(tlsCluster());
  world.secrets.set('example-ca', {
    metadata: {
      name: 'example-ca',
      namespace: 'default',
      resourceVersion: '7',
      labels: { 'app.kubernetes.io/managed-by': 'zookeeper-operator', 'app.kubernetes.io/component': 'tls' },
    },
    data: { 'ca.crt': 'eA==', 'ca.key': 'eA==' },
  });
  await t.throwsAsync(world.reconcile());
  t.deepEqual(world.writes, ['status Creating']);
  t.like(
    world.cluster.status?.conditions?.find((c) => c.type === 'Degraded'),
    { reason: 'TlsSecretNotOwned' },
  );
  t.true(
    world.events.some((e) =>
      e.startsWith(
        'Warning TlsSecretNotOwned: Secret example-ca carries the operator’s labels but has no owner reference',
      ),
    ),
  );
});

test('no private key reaches a log line, an Event or the status, through issuance, renewal and a CA rollover', async (t) => {
  const world = new World(
    tlsCluster({ tls: { certificates: { lifetime: '1h', renewBefore: '20m', caLifetime: '3h' } } }),
  );
  for (let minutes = 0; minutes <= 4 * 60; minutes += 10) {
    world.now = new Date(T0.getTime() + minutes * 60_000);
    await world.reconcile();
  }
  t.true(
    world.events.some((e) => e.includes('CaRolledOver')),
    'the CA rolled over',
  );
  const keyLines = [...world.keyLines];
  t.true(keyLines.length > 10);
  const said = [
    ...world.logger.lines.map((line) => JSON.stringify(line)),
    ...world.events,
    JSON.stringify(world.cluster.status),
  ].join('\n');
  t.false(said.includes('PRIVATE KEY'));
  t.deepEqual(
    keyLines.filter((line) => said.includes(line)),
    [],
  );
});

test('a write the cache has not delivered yet is not an error: nothing more is written until it is seen', async (t) => {
  const world = new World(tlsCluster());
  await world.reconcile();
  // The cache loses sight of the CA (its watch event not delivered yet).
  const ca = world.secrets.get('example-ca') as V1Secret;
  world.secrets.delete('example-ca');
  world.hidden.set('example-ca', ca);
  world.writes.length = 0;
  world.events.length = 0;
  await world.reconcile();
  t.deepEqual(
    world.writes.filter((w) => w.includes('Secret')),
    ['create Secret/example-ca', 'read Secret/example-ca'],
  );
  t.deepEqual(world.events, [], 'no Warning, no new certificate under a CA that was never stored');
  t.false(
    world.cluster.status?.conditions?.some((c) => c.type === 'Degraded' && c.reason.startsWith('Certificate')) ?? false,
  );
});

test('a Secret of the CA’s name without the labels, which the cache cannot see, is reported and never replaced', async (t) => {
  const world = new World(tlsCluster());
  world.hidden.set('example-ca', { metadata: { name: 'example-ca', namespace: 'default' }, data: {} });
  await t.throwsAsync(world.reconcile());
  t.deepEqual(world.writes, ['create Secret/example-ca', 'read Secret/example-ca', 'status Creating']);
  t.like(
    world.cluster.status?.conditions?.find((c) => c.type === 'Degraded'),
    { reason: 'TlsSecretNotOwned' },
  );
});

test('a renewal that finds the Secret changed since the cache read it is decided again, not reported', async (t) => {
  const world = new World(tlsCluster({ tls: { certificates: { lifetime: '3h', renewBefore: '1h' } } }));
  await world.reconcile();
  world.now = new Date(T0.getTime() + 2 * HOUR);
  world.failReplaceWith = Object.assign(new Error('HTTP-Code: 409'), {
    code: 409,
    body: JSON.stringify({ kind: 'Status', reason: 'Conflict', code: 409, message: 'the object has been modified' }),
  });
  world.events.length = 0;
  await world.reconcile();
  t.deepEqual(world.events, []);
  t.false(
    world.cluster.status?.conditions?.some((c) => c.type === 'Degraded' && c.reason.startsWith('Certificate')) ?? false,
  );
  world.failReplaceWith = undefined;
  await world.reconcile();
  t.true(world.events.some((e) => e.startsWith('Normal CertificateIssued: issued the certificate of example-0')));
});

const withClientCAs = (): ZooKeeperCluster =>
  tlsCluster({ tls: { certificates: {}, client: true, trustedClientCAs: { secretName: 'app-client-cas' } } });
const clientCAsSecret = (caCrt: string): V1Secret => ({
  metadata: { name: 'app-client-cas', namespace: 'default' },
  data: { 'ca.crt': Buffer.from(caCrt).toString('base64') },
});

for (const c of [
  {
    name: 'a trusted client CAs Secret that does not exist',
    secret: undefined,
    message:
      /^Warning TrustedClientCAsUnusable: Secret default\/app-client-cas, which spec\.tls\.trustedClientCAs names, does not exist/,
  },
  {
    name: 'a trusted client CAs Secret without a certificate',
    secret: clientCAsSecret('not a certificate'),
    message: /^Warning TrustedClientCAsUnusable: Secret default\/app-client-cas holds no PEM certificate under ca\.crt/,
  },
]) {
  test(`${c.name}: no member object is applied, Degraded and a Warning say so, certificates are still issued; with a CA the cluster is applied`, async (t) => {
    const world = new World(withClientCAs());
    if (c.secret !== undefined) world.userSecrets.set('app-client-cas', c.secret);
    await world.reconcile();
    t.false(world.objects.has('StatefulSet/example'), 'no StatefulSet: no member would start without the Secret');
    t.like(
      world.cluster.status?.conditions?.find((cond) => cond.type === 'Degraded'),
      {
        status: 'True',
        reason: 'TrustedClientCAsUnusable',
      },
    );
    t.regex(world.events.join('\n'), c.message);
    t.regex(world.events.join('\n'), /no member is restarted or changed until it is fixed/);
    t.true(world.secrets.has('example-tls'), 'the member certificates are issued all the same');

    const authority = await createCertificateAuthority({
      commonName: 'app-ca',
      notBefore: T0,
      notAfter: new Date(T0.getTime() + 24 * HOUR),
    });
    world.userSecrets.set('app-client-cas', clientCAsSecret(authority.certificatePem));
    await world.reconcile();
    const statefulSet = world.objects.get('StatefulSet/example') as V1StatefulSet | undefined;
    t.true(
      statefulSet?.spec?.template.spec?.volumes?.some((v) => v.secret?.secretName === 'app-client-cas'),
      'members mount the Secret',
    );
  });
}

test('each CA the operator creates has a subject of its own, so members can trust the old and the new one side by side', async (t) => {
  const world = new World(
    tlsCluster({ tls: { certificates: { lifetime: '1h', renewBefore: '20m', caLifetime: '3h' } } }),
  );
  const subjects = new Set<string>();
  for (let minutes = 0; minutes <= 4 * 60; minutes += 10) {
    world.now = new Date(T0.getTime() + minutes * 60_000);
    await world.reconcile();
    const ca = world.secrets.get('example-ca');
    for (const pem of [secretText(ca, 'ca.crt'), secretText(ca, 'previous-ca.crt')]) {
      if (pem !== undefined) subjects.add(readCertificate(pem).subject);
    }
  }
  t.true(world.events.some((e) => e.includes('CaRolledOver')));
  t.true(subjects.size >= 2, `${subjects.size} subjects`);
  t.regex([...subjects][0] ?? '', /^CN=zookeeper-operator CA for default\/example \(20\d\d-/);
});
