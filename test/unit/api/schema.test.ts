import { readFileSync } from 'node:fs';
import type { V1LabelSelectorRequirement } from '@kubernetes/client-node';
import test from 'ava';
import { RESERVED_CONFIG_KEYS } from '../../../src/api/constants.js';
import { CRD_FILE, renderCrdYaml } from '../../../src/api/crd-yaml.js';
import { DEFAULT_CONFIG, DEFAULTS } from '../../../src/api/defaults.js';
import { buildCrd, type JSONSchema } from '../../../src/api/schema.js';
import type {
  AuthenticationSpec,
  CertificatesSpec,
  ClientServiceSpec,
  DigestUsersSpec,
  JvmSpec,
  NetworkPeerSpec,
  NetworkPolicySpec,
  PortsSpec,
  RollingUpdateSpec,
  StorageSpec,
  TlsSpec,
  ZooKeeperClusterSpec,
  ZooKeeperClusterStatus,
} from '../../../src/api/types.js';

const version = buildCrd().spec.versions[0];
if (!version) throw new Error('the CRD has no version');
const root = version.schema.openAPIV3Schema;
const specSchema = root.properties?.spec as JSONSchema;
const statusSchema = root.properties?.status as JSONSchema;

test('the CRD file in crds/ is exactly what the schema in code generates (run `npm run crd`)', (t) => {
  t.is(readFileSync(CRD_FILE, 'utf8'), renderCrdYaml());
});

test('the CRD serves status and scale subresources wired to replicas and the selector', (t) => {
  t.deepEqual(version.subresources, {
    status: {},
    scale: {
      specReplicasPath: '.spec.replicas',
      statusReplicasPath: '.status.replicas',
      labelSelectorPath: '.status.selector',
    },
  });
  t.deepEqual(buildCrd().spec.names.shortNames, ['zk', 'zkc']);
});

test('kubectl get zk shows Ready, Leader, Version, Available, Status and Age', (t) => {
  t.deepEqual(
    version.additionalPrinterColumns.map((c) => c.name),
    ['Ready', 'Leader', 'Version', 'Available', 'Status', 'Age'],
  );
});

/** Walks a schema and yields every property path without a description. */
function* undocumented(schema: JSONSchema, path: string): Generator<string> {
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    const childPath = `${path}.${name}`;
    if (name !== 'metadata' && !child.description) yield childPath;
    yield* undocumented(child, childPath);
    if (child.items) yield* undocumented(child.items, `${childPath}[]`);
  }
}

test('every field has a description, so kubectl explain is useful', (t) => {
  t.deepEqual([...undocumented(root, 'zk')], []);
});

test('schema defaults match the defaults the operator resolves', (t) => {
  const props = specSchema.properties ?? {};
  t.is(props.replicas?.default, DEFAULTS.replicas);
  t.is(props.image?.default, DEFAULTS.image);
  t.is(props.storage?.properties?.size?.default, DEFAULTS.storageSize);
  t.is(props.storage?.properties?.reclaimPolicy?.default, DEFAULTS.reclaimPolicy);
  t.is(props.clusterDomain?.default, DEFAULTS.clusterDomain);
  for (const [port, value] of Object.entries(DEFAULTS.ports)) {
    t.is(props.ports?.properties?.[port]?.default, value, `ports.${port}`);
  }
  t.is(props.rollingUpdate?.properties?.stepTimeoutSeconds?.default, DEFAULTS.stepTimeoutSeconds);
  t.is(props.networkPolicy?.properties?.enabled?.default, DEFAULTS.networkPolicyEnabled);
  t.is(props.tls?.properties?.certificates?.properties?.lifetime?.default, DEFAULTS.certificateLifetime);
  t.is(props.tls?.properties?.certificates?.properties?.caLifetime?.default, DEFAULTS.caLifetime);
});

test('the operator defaults no zoo.cfg key it also reserves', (t) => {
  const reserved: readonly string[] = RESERVED_CONFIG_KEYS;
  t.deepEqual(
    Object.keys(DEFAULT_CONFIG).filter((key) => reserved.includes(key)),
    [],
  );
});

/**
 * Types and schema agree: a spec and a status that set every field the TypeScript types
 * declare (the `Own` mapped type makes the compiler insist on each one) must have exactly the schema's properties.
 */
type Own<T> = { [K in keyof T]-?: NonNullable<T[K]> };
const fullSpec: Own<ZooKeeperClusterSpec> & {
  jvm: Own<JvmSpec>;
  storage: Own<StorageSpec>;
  ports: Own<PortsSpec>;
  clientService: Own<ClientServiceSpec>;
  networkPolicy: Own<NetworkPolicySpec> & { clients: Own<NetworkPeerSpec>; monitoring: Own<NetworkPeerSpec> };
  rollingUpdate: Own<RollingUpdateSpec>;
  tls: Own<TlsSpec> & { certificates: Own<CertificatesSpec> };
  authentication: Own<AuthenticationSpec> & { digestUsers: Own<DigestUsersSpec> };
} = {
  replicas: 3,
  observers: 2,
  image: 'zookeeper:3.9.4',
  imagePullPolicy: 'IfNotPresent',
  resources: { limits: { memory: '2Gi' }, requests: { cpu: '500m' } },
  jvm: { heapMiB: 512, extraFlags: ['-XX:+UseG1GC'] },
  storage: { ephemeral: false, size: '10Gi', storageClassName: 'fast', reclaimPolicy: 'Delete' },
  config: { tickTime: '2000' },
  ports: {
    client: 2181,
    secureClient: 2281,
    loopbackClient: 2182,
    quorum: 2888,
    election: 3888,
    admin: 8080,
    metrics: 7000,
  },
  pod: {
    labels: {},
    annotations: {},
    nodeSelector: {},
    tolerations: [],
    affinity: {},
    topologySpreadConstraints: [],
    priorityClassName: 'high',
    securityContext: {},
    serviceAccountName: 'zk',
    imagePullSecrets: [{ name: 'pull' }],
    terminationGracePeriodSeconds: 30,
  },
  clientService: { type: 'ClusterIP', annotations: {}, includeObservers: true },
  networkPolicy: {
    enabled: true,
    clients: {
      namespaceSelector: {
        matchLabels: { team: 'a' },
        matchExpressions: [{ key: 'env', operator: 'In', values: ['x'] }],
      },
      podSelector: { matchLabels: { role: 'client' }, matchExpressions: [] },
    },
    monitoring: {
      namespaceSelector: { matchLabels: {}, matchExpressions: [] },
      podSelector: { matchLabels: {}, matchExpressions: [] },
    },
  },
  clusterDomain: 'cluster.local',
  paused: false,
  rollingUpdate: { stepTimeoutSeconds: 600, leaderHandOff: false },
  tls: {
    certificates: {
      caSecretName: 'own-ca',
      issuerRef: { name: 'ca-issuer', kind: 'ClusterIssuer', group: 'cert-manager.io' },
      lifetime: '2160h',
      renewBefore: '720h',
      caLifetime: '43800h',
    },
    quorum: true,
    client: true,
    trustedClientCAs: { secretName: 'app-ca' },
  },
  authentication: { digestUsers: { secretName: 'zookeeper-users' } },
};
const fullStatus: Own<ZooKeeperClusterStatus> = {
  observedGeneration: 1,
  replicas: 3,
  readyReplicas: 3,
  observers: 2,
  readyObservers: 2,
  ready: '3/3+2/2',
  selector: 'a=b',
  phase: 'Running',
  conditions: [],
  leader: 'example-2',
  members: [],
  quorum: { size: 3, syncedVoters: 3, faultTolerance: 1 },
  configVersion: '100000000',
  currentVersion: '3.9.4',
  targetVersion: '3.9.4',
  currentRevision: 'r',
  targetRevision: 'r',
  clientConnectionString: 'example-client.default.svc:2181',
  operation: { kind: 'RollingRestart', member: 'example-0', waitingFor: 'sync', startedAt: 't', done: 0, total: 3 },
  tls: {
    certificates: [{ name: 'ca', secret: 'example-ca', notAfter: 't', renewAt: 't' }],
    quorum: 'tls-only',
    client: 'tls-only',
  },
};

function assertSameShape(t: import('ava').ExecutionContext, value: unknown, schema: JSONSchema, path: string) {
  if (schema['x-kubernetes-preserve-unknown-fields'] || schema.additionalProperties) return;
  if (Array.isArray(value) || value === null || typeof value !== 'object' || !schema.properties) return;
  t.deepEqual(Object.keys(value).sort(), Object.keys(schema.properties).sort(), `fields of ${path}`);
  for (const [key, child] of Object.entries(value)) {
    const childSchema = schema.properties[key];
    if (childSchema) assertSameShape(t, child, childSchema, `${path}.${key}`);
  }
}

test('the TypeScript types and the OpenAPI schema declare the same spec and status fields', (t) => {
  assertSameShape(t, fullSpec, specSchema, 'spec');
  assertSameShape(t, fullStatus, statusSchema, 'status');
  const requirement: Own<V1LabelSelectorRequirement> = { key: 'env', operator: 'In', values: ['x'] };
  const selector = specSchema.properties?.networkPolicy?.properties?.clients?.properties?.namespaceSelector;
  t.deepEqual(
    Object.keys(requirement).sort(),
    Object.keys(selector?.properties?.matchExpressions?.items?.properties ?? {}).sort(),
  );
  t.deepEqual(
    Object.keys(fullStatus.quorum).sort(),
    Object.keys(statusSchema.properties?.quorum?.properties ?? {}).sort(),
  );
});
