/**
 * The ZooKeeperCluster CustomResourceDefinition, built in code: the one source of truth for
 * `crds/zookeeperclusters.yaml` (written by `npm run crd`, and checked by a test to be
 * identical). Every field has a description for `kubectl explain`; what can be checked
 * statically is checked here, in OpenAPI and CEL, so bad specs never reach the operator.
 */

import { authenticationSchema } from './authentication-schema.js';
import {
  API_GROUP,
  API_VERSION,
  CONFIG_VALUE_BOUNDS,
  GUARDED_PROPERTIES,
  HEAP_FLAG_PREFIXES,
  INTEGER_CONFIG_KEYS,
  KIND,
  LIST_KIND,
  MAX_NAME_LENGTH,
  MAX_NAME_LENGTH_WITH_OBSERVERS,
  MAX_OBSERVERS,
  MAX_REPLICAS,
  MIN_MEMORY_LIMIT,
  MIN_REPLICAS,
  PLURAL,
  RESERVED_CONFIG_KEYS,
  RESERVED_CONFIG_PREFIXES,
  SHORT_NAMES,
  SINGULAR,
  STORAGE_SIZE_BOUNDS,
  SUPPORTED_MINOR_VERSIONS,
} from './constants.js';
import { DEFAULT_CONFIG, DEFAULTS } from './defaults.js';
import { tlsSchema, tlsStatusSchema } from './tls-schema.js';

/** The subset of OpenAPI v3 (structural schema) the CRD uses. */
export interface JSONSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, JSONSchema>;
  additionalProperties?: JSONSchema;
  items?: JSONSchema;
  required?: string[];
  enum?: string[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  maxItems?: number;
  maxProperties?: number;
  pattern?: string;
  format?: string;
  nullable?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  anyOf?: JSONSchema[];
  'x-kubernetes-validations'?: CelRule[];
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
}

export interface CelRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  fieldPath?: string;
}

const str = (description: string, extra: JSONSchema = {}): JSONSchema => ({ type: 'string', description, ...extra });
const int = (description: string, extra: JSONSchema = {}): JSONSchema => ({ type: 'integer', description, ...extra });
const bool = (description: string, extra: JSONSchema = {}): JSONSchema => ({ type: 'boolean', description, ...extra });
const obj = (description: string, properties: Record<string, JSONSchema>, extra: JSONSchema = {}): JSONSchema => ({
  type: 'object',
  description,
  properties,
  ...extra,
});
const stringMap = (description: string, extra: JSONSchema = {}): JSONSchema => ({
  type: 'object',
  description,
  additionalProperties: { type: 'string' },
  ...extra,
});
/** An embedded Kubernetes core type, validated by the API server when the operator applies the pod. */
const coreType = (description: string, type: 'object' | 'array' = 'object'): JSONSchema =>
  type === 'array'
    ? { type, description, items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } }
    : { type, description, 'x-kubernetes-preserve-unknown-fields': true };

const quantityPattern = '^[0-9]+(\\.[0-9]+)?([eE][0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$';
/** A resource quantity as core/v1 declares it: a number or a string like `500m` or `2Gi`. */
const quantity: JSONSchema = {
  anyOf: [{ type: 'integer' }, { type: 'string' }],
  // Bounds that keep the CEL rules over quantities within the API server's cost budget.
  maxLength: 64,
  pattern: '^[0-9]+(\\.[0-9]+)?(m|[eE][0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$',
  'x-kubernetes-int-or-string': true,
};
const celList = (values: readonly string[]): string => `[${values.map((v) => `'${v}'`).join(', ')}]`;

const port = (role: string, fallback: number): JSONSchema =>
  int(`${role} port inside each pod (default ${fallback}).`, { minimum: 1, maximum: 65535, default: fallback });

/** The ports only a cluster with spec.tls may serve: they need not differ from the others before. */
const TLS_PORTS: readonly string[] = ['secureClient', 'loopbackClient'];
const portNames = Object.keys(DEFAULTS.ports);
/** `prefix.a != prefix.b` for every pair of `names` that `include`s. */
const differ = (names: readonly string[], prefix: string, include: (a: string, b: string) => boolean) =>
  names
    .flatMap((a, i) => names.slice(i + 1).flatMap((b) => (include(a, b) ? [`${prefix}${a} != ${prefix}${b}`] : [])))
    .join(' && ');
const isTlsPort = (name: string) => TLS_PORTS.includes(name);
/** Every pair of ports a member serves must differ: ZooKeeper would fail to bind the second. */
const distinctPortsRule = differ(portNames, 'self.', (a, b) => !isTlsPort(a) && !isTlsPort(b));
/** With spec.tls, the TLS ports too (at spec level: the ports object cannot see spec.tls). */
const distinctTlsPortsRule = `!has(self.tls) || !has(self.ports) || (${differ(portNames, 'self.ports.', (a, b) => isTlsPort(a) || isTlsPort(b))})`;

const reservedKeyCheck = `k in ${celList(RESERVED_CONFIG_KEYS)} || ${RESERVED_CONFIG_PREFIXES.map((p) => `k.startsWith('${p}')`).join(' || ')}`;

/** CEL: `name` is, or starts with, a guarded system property (`GUARDED_PROPERTIES`). */
const guardedCheck = (name: string): string =>
  GUARDED_PROPERTIES.map((g) => (g.endsWith('.') ? `${name}.startsWith('${g}')` : `${name} == '${g}'`)).join(' || ');

/** CEL: the whole number in zoo.cfg key `key`, or `fallback` when it is not set (or not a number: another rule says so). */
const configNumberOr = (key: string, fallback: string): string =>
  `('${key}' in self && self['${key}'].matches('^[0-9]{1,12}$') ? int(self['${key}']) : ${fallback})`;

const tickExpression = configNumberOr('tickTime', DEFAULT_CONFIG.tickTime ?? '2000');

/** One rule per numeric key: within its bounds (digits beyond 12 are out of bounds without parsing). */
const configBoundRules = Object.entries(CONFIG_VALUE_BOUNDS).map(([key, { min, max, unit }]) => ({
  rule: `!('${key}' in self) || !self['${key}'].matches('^[0-9]+$') || (self['${key}'].size() <= 12 && int(self['${key}']) >= ${min} && int(self['${key}']) <= ${max})`,
  message: `zoo.cfg ${key} must be between ${min} and ${max} (${unit})`,
}));

const configSchema = stringMap(
  'zoo.cfg settings, one key per entry (for example `tickTime: "2000"`). Applied with a rolling restart, ' +
    `one member at a time. Defaults: ${Object.entries(DEFAULT_CONFIG)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}. ` +
    'Keys the operator manages (paths, ports, membership, reconfiguration, 4lw whitelist, AdminServer, metrics, skipACL) are rejected.',
  {
    maxProperties: 64,
    additionalProperties: { type: 'string', maxLength: 1024 },
    'x-kubernetes-validations': [
      {
        rule: `!self.exists(k, ${reservedKeyCheck})`,
        messageExpression: `'zoo.cfg key "' + self.filter(k, ${reservedKeyCheck})[0] + '" is managed by the operator and cannot be set in spec.config; remove it'`,
        reason: 'FieldValueForbidden',
      },
      {
        rule: "self.all(k, k.matches('^[A-Za-z][A-Za-z0-9._-]*$') && k.size() <= 128)",
        messageExpression:
          "'zoo.cfg key \"' + self.filter(k, !k.matches('^[A-Za-z][A-Za-z0-9._-]*$') || k.size() > 128)[0] + '\" is not a valid key: use letters, digits, dots, dashes and underscores (at most 128 characters)'",
      },
      {
        rule: "self.all(k, !self[k].contains('\\n') && !self[k].contains('\\r'))",
        messageExpression:
          "'the value of zoo.cfg key \"' + self.filter(k, self[k].contains('\\n') || self[k].contains('\\r'))[0] + '\" contains a line break; zoo.cfg values must be a single line'",
      },
      {
        rule: `self.all(k, !(k in ${celList(INTEGER_CONFIG_KEYS)}) || self[k].matches('^[0-9]+$'))`,
        messageExpression: `'zoo.cfg key "' + self.filter(k, k in ${celList(INTEGER_CONFIG_KEYS)} && !self[k].matches('^[0-9]+$'))[0] + '" must be a whole number'`,
      },
      {
        rule: `!self.exists(k, ${guardedCheck('k')})`,
        messageExpression: `'zoo.cfg key "' + self.filter(k, ${guardedCheck('k')})[0] + '" would set the system property zookeeper.' + self.filter(k, ${guardedCheck('k')})[0] + ', which the operator relies on to keep the ensemble safe; remove it'`,
        reason: 'FieldValueForbidden',
      },
      {
        // java.util.Properties joins a line ending in a backslash with the next one.
        rule: "self.all(k, !self[k].endsWith('\\\\'))",
        messageExpression:
          "'the value of zoo.cfg key \"' + self.filter(k, self[k].endsWith('\\\\'))[0] + '\" ends with a backslash, which would join it with the next line of zoo.cfg; remove the backslash'",
      },
      ...configBoundRules,
      {
        rule: `${configNumberOr('minSessionTimeout', `2 * ${tickExpression}`)} <= ${configNumberOr('maxSessionTimeout', `20 * ${tickExpression}`)}`,
        message:
          'zoo.cfg minSessionTimeout must not exceed maxSessionTimeout (by default 2 and 20 times tickTime): ZooKeeper refuses to start otherwise',
      },
    ],
  },
);

/** A label value: empty, or at most 63 alphanumerics, `-`, `_` and `.`, starting and ending alphanumeric. */
const LABEL_VALUE_PATTERN = '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$';
/** A label key: an optional DNS-subdomain prefix and `/`, then a name of at most 63 characters. */
const LABEL_KEY_PATTERN =
  '^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$';
/** CEL: `key` is a valid label key (the pattern, and a prefix of at most 253 characters). */
const validLabelKey = (key: string) =>
  `(${key}.matches('${LABEL_KEY_PATTERN}') && (!${key}.contains('/') || ${key}.indexOf('/') <= 253))`;
const LABEL_KEY_HELP =
  'an optional DNS subdomain prefix (at most 253 characters) and "/", then at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit';

/** A metav1.LabelSelector, checked here as the API server checks it in a NetworkPolicy. */
const labelSelector = (description: string): JSONSchema =>
  obj(description, {
    matchLabels: stringMap('Labels the selected objects must all carry.', {
      maxProperties: 32,
      additionalProperties: { type: 'string', maxLength: 63, pattern: LABEL_VALUE_PATTERN },
      'x-kubernetes-validations': [
        {
          rule: `self.all(k, ${validLabelKey('k')})`,
          messageExpression: `'label key "' + self.filter(k, !${validLabelKey('k')})[0] + '" is not valid: use ${LABEL_KEY_HELP}'`,
        },
      ],
    }),
    matchExpressions: {
      type: 'array',
      description: 'Label requirements the selected objects must all meet.',
      maxItems: 16,
      items: obj(
        'A label requirement.',
        {
          key: str('The label key.', {
            maxLength: 317,
            pattern: LABEL_KEY_PATTERN,
            'x-kubernetes-validations': [
              {
                rule: "!self.contains('/') || self.indexOf('/') <= 253",
                message: 'the prefix of a label key may have at most 253 characters',
              },
            ],
          }),
          operator: str('In, NotIn, Exists or DoesNotExist.', { enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] }),
          values: {
            type: 'array',
            description: 'Label values: one or more for In and NotIn, none for Exists and DoesNotExist.',
            maxItems: 64,
            items: { type: 'string', maxLength: 63, pattern: LABEL_VALUE_PATTERN },
          },
        },
        {
          required: ['key', 'operator'],
          'x-kubernetes-validations': [
            {
              rule: "self.operator in ['In', 'NotIn'] ? has(self.values) && self.values.size() > 0 : !has(self.values) || self.values.size() == 0",
              messageExpression:
                "'operator ' + self.operator + (self.operator in ['In', 'NotIn'] ? ' needs at least one value' : ' takes no values')",
            },
          ],
        },
      ),
    },
  });

/** Who may send one kind of traffic: NetworkPolicy peer semantics. */
const networkPeer = (description: string): JSONSchema =>
  obj(
    `${description} Omit it to admit any source. With both selectors: the matching pods in the matching namespaces; with podSelector alone: pods in the cluster’s namespace; with namespaceSelector alone: every pod in the matching namespaces.`,
    {
      namespaceSelector: labelSelector('Namespaces the sources run in (an empty selector: every namespace).'),
      podSelector: labelSelector('Pods that are sources (an empty selector: every pod).'),
    },
    {
      'x-kubernetes-validations': [
        {
          rule: 'has(self.namespaceSelector) || has(self.podSelector)',
          message: 'give a namespaceSelector, a podSelector or both; to admit any source, leave this field out',
        },
      ],
    },
  );

const networkPolicySchema = obj(
  'The NetworkPolicy `<name>` that admits only the traffic the ensemble needs: clients to the client port, ' +
    'members to each other’s quorum and election ports, the operator’s pods to the client port, monitoring to the metrics port. ' +
    'Nothing else reaches the members (the AdminServer is not reachable from other pods). It takes effect only where the ' +
    'cluster’s network plugin enforces NetworkPolicies.',
  {
    enabled: bool('Render the NetworkPolicy. false deletes it: every pod may then reach every port of the members.', {
      default: DEFAULTS.networkPolicyEnabled,
    }),
    clients: networkPeer('Who may reach the client port.'),
    monitoring: networkPeer('Who may reach the metrics port.'),
  },
  { default: {} },
);

const minorAlternatives = SUPPORTED_MINOR_VERSIONS.map((v) => v.replace('.', '\\\\.')).join('|');

const specSchema = obj(
  'Desired state of the ZooKeeper ensemble.',
  {
    replicas: int(
      `Number of voting members (${MIN_REPLICAS}-${MAX_REPLICAS}). Odd numbers are recommended: 3 tolerates one failure, 5 two. ` +
        'Changed one member at a time through ZooKeeper dynamic reconfiguration.',
      { minimum: MIN_REPLICAS, maximum: MAX_REPLICAS, default: DEFAULTS.replicas },
    ),
    observers: int(
      `Number of observers (0-${MAX_OBSERVERS}): non-voting members in their own StatefulSet (\`<name>-observer\`) that serve reads and follow every write, ` +
        'without counting towards the quorum. Added and removed by dynamic reconfiguration one at a time, after the voters have settled.',
      { minimum: 0, maximum: MAX_OBSERVERS, default: DEFAULTS.observers },
    ),
    image: str(
      `Container image of ZooKeeper ${SUPPORTED_MINOR_VERSIONS.join(' or ')} (the official image or one built like it). ` +
        'Changing it upgrades the ensemble with a rolling restart, leader last.',
      {
        default: DEFAULTS.image,
        minLength: 1,
        maxLength: 512,
        'x-kubernetes-validations': [
          { rule: "!self.matches('\\\\s')", message: 'image must not contain whitespace' },
          {
            rule: `!self.matches(':[0-9]+\\\\.[0-9]+([.-][^/]*)?$') || self.matches(':(${minorAlternatives})([.-][^/]*)?$')`,
            message: `image tag names an unsupported ZooKeeper version; supported are ${SUPPORTED_MINOR_VERSIONS.join(' and ')} (for example zookeeper:3.9.4)`,
          },
        ],
      },
    ),
    imagePullPolicy: str('Image pull policy of the ZooKeeper container.', {
      enum: ['Always', 'IfNotPresent', 'Never'],
      default: DEFAULTS.imagePullPolicy,
    }),
    resources: obj(
      'CPU and memory requests and limits of the ZooKeeper container. The JVM heap is derived from the memory limit unless jvm.heapMiB is set.',
      {
        limits: stringMap('Resource limits, e.g. `memory: 2Gi`.', {
          additionalProperties: quantity,
          maxProperties: 16,
        }),
        requests: stringMap('Resource requests, e.g. `cpu: 500m`.', {
          additionalProperties: quantity,
          maxProperties: 16,
        }),
      },
      {
        'x-kubernetes-validations': [
          ...['cpu', 'memory'].map((resource) => ({
            rule: `!has(self.requests) || !has(self.limits) || !('${resource}' in self.requests) || !('${resource}' in self.limits) || quantity(string(self.requests['${resource}'])).compareTo(quantity(string(self.limits['${resource}']))) <= 0`,
            message: `resources.requests.${resource} must not exceed resources.limits.${resource}: the API server would refuse every member pod`,
          })),
          {
            rule: `!has(self.limits) || !('memory' in self.limits) || quantity(string(self.limits['memory'])).compareTo(quantity('${MIN_MEMORY_LIMIT}')) >= 0`,
            message: `resources.limits.memory must be at least ${MIN_MEMORY_LIMIT}: a member's JVM needs a heap of at least 64 MiB plus its own memory`,
          },
        ],
      },
    ),
    jvm: obj('JVM settings.', {
      heapMiB: int(
        'Maximum heap (-Xmx) in MiB. Default: half the memory limit (or request), or 1024 when neither is set.',
        { minimum: 64, maximum: 1048576 },
      ),
      extraFlags: {
        type: 'array',
        description: 'Extra JVM flags, appended after the operator’s own (for example `-XX:+UseG1GC`).',
        maxItems: 32,
        items: {
          type: 'string',
          maxLength: 512,
          'x-kubernetes-validations': [
            { rule: "self.startsWith('-')", message: 'each JVM flag must start with "-"' },
            {
              rule: "!self.matches('\\\\s')",
              message: 'a JVM flag must not contain whitespace; give each flag its own entry',
            },
            {
              rule: `!self.startsWith('-Dzookeeper.') || !(${guardedCheck("self.substring(12).split('=')[0]")})`,
              message: `a -Dzookeeper. flag may not set ${GUARDED_PROPERTIES.map((g) => (g.endsWith('.') ? `${g}*` : g)).join(', ')}: the operator relies on them to keep the ensemble safe`,
              reason: 'FieldValueForbidden',
            },
            {
              rule: `!(${HEAP_FLAG_PREFIXES.map((f) => `self.startsWith('${f}')`).join(' || ')})`,
              message:
                'set the heap with jvm.heapMiB, not with a JVM flag: the operator checks it against the memory limit',
            },
          ],
        },
      },
    }),
    storage: obj(
      'Where each member keeps its data.',
      {
        ephemeral: bool(
          'Keep data in an emptyDir instead of a PersistentVolumeClaim. Data is lost when a pod restarts: development only.',
          { default: false },
        ),
        size: str(
          'Size of each member’s PersistentVolumeClaim. May grow, never shrink: growing resizes the existing claims online (their StorageClass must allow volume expansion) without restarting a member.',
          {
            default: DEFAULTS.storageSize,
            pattern: quantityPattern,
            maxLength: 64,
            'x-kubernetes-validations': [
              {
                rule: `quantity(self).compareTo(quantity('${STORAGE_SIZE_BOUNDS.min}')) >= 0 && quantity(self).compareTo(quantity('${STORAGE_SIZE_BOUNDS.max}')) <= 0`,
                messageExpression: `'storage.size ' + self + ' is not a size a member volume can have: give between ${STORAGE_SIZE_BOUNDS.min} and ${STORAGE_SIZE_BOUNDS.max}'`,
              },
              {
                rule: 'quantity(self).compareTo(quantity(oldSelf)) >= 0',
                messageExpression:
                  "'storage.size may not shrink (from ' + oldSelf + ' to ' + self + '): a volume cannot be made smaller'",
              },
            ],
          },
        ),
        storageClassName: str('StorageClass of the claims. Cannot be changed after creation.', {
          minLength: 1,
          maxLength: 253,
        }),
        reclaimPolicy: str(
          'What happens to a member’s claim when the member is removed by scaling down or the cluster is deleted: Delete removes it, Retain keeps it (a later scale-up never reuses stale data).',
          { enum: ['Delete', 'Retain'], default: DEFAULTS.reclaimPolicy },
        ),
      },
      {
        default: {},
        'x-kubernetes-validations': [
          {
            rule: 'has(self.storageClassName) == has(oldSelf.storageClassName) && (!has(self.storageClassName) || self.storageClassName == oldSelf.storageClassName)',
            message: 'storage.storageClassName cannot be changed after creation; create a new cluster to move storage',
          },
          {
            rule: '(has(self.ephemeral) && self.ephemeral) == (has(oldSelf.ephemeral) && oldSelf.ephemeral)',
            message: 'storage.ephemeral cannot be changed after creation: switching would discard every member’s data',
          },
        ],
      },
    ),
    config: configSchema,
    ports: obj(
      'Container ports. Changing one restarts every member, one at a time; a change of client, quorum or election moves each member to its new ports by ZooKeeper reconfig right after its restart (the leader last), while the client Service and NetworkPolicy keep the old ports until every member has moved.',
      {
        client: port('Client', DEFAULTS.ports.client),
        secureClient: port('TLS client (served while tls.client is on)', DEFAULTS.ports.secureClient),
        loopbackClient: port(
          'Plaintext client port on the pod’s loopback once tls.client is on, for the member’s own probes; nothing outside the pod reaches it',
          DEFAULTS.ports.loopbackClient,
        ),
        quorum: port('Quorum (follower-to-leader)', DEFAULTS.ports.quorum),
        election: port('Leader-election', DEFAULTS.ports.election),
        admin: port('AdminServer (HTTP)', DEFAULTS.ports.admin),
        metrics: port('Prometheus metrics', DEFAULTS.ports.metrics),
      },
      {
        // The whole object, not {}: the API server checks the default against the rule as it stands.
        default: { ...DEFAULTS.ports },
        'x-kubernetes-validations': [{ rule: distinctPortsRule, message: 'ports must all be different' }],
      },
    ),
    pod: obj('Settings of the ZooKeeper pods.', {
      labels: stringMap(
        'Extra labels on each pod. The app.kubernetes.io/* labels the operator selects pods by cannot be set.',
        {
          'x-kubernetes-validations': [
            {
              rule: "!self.exists(k, k.startsWith('app.kubernetes.io/'))",
              message: 'pod labels may not use the app.kubernetes.io/ prefix: the operator selects its pods by those',
            },
          ],
        },
      ),
      annotations: stringMap('Extra annotations on each pod.'),
      nodeSelector: stringMap('Node labels a pod must match to be scheduled.'),
      tolerations: coreType('Tolerations of the pods (core/v1 Toleration).', 'array'),
      affinity: coreType(
        'Affinity of the pods (core/v1 Affinity). Default: prefer spreading members over distinct nodes.',
      ),
      topologySpreadConstraints: coreType('Topology spread constraints (core/v1 TopologySpreadConstraint).', 'array'),
      priorityClassName: str('PriorityClass of the pods.'),
      securityContext: coreType(
        'Pod security context (core/v1 PodSecurityContext). Default: run as uid/gid 1000, non-root, fsGroup 1000.',
      ),
      serviceAccountName: str('ServiceAccount the pods run as.'),
      imagePullSecrets: {
        type: 'array',
        description: 'Secrets for pulling the image.',
        items: obj('A Secret in the cluster’s namespace.', { name: str('Name of the Secret.') }),
      },
      terminationGracePeriodSeconds: int('Seconds a member gets to shut down before it is killed.', {
        minimum: 1,
        maximum: 3600,
      }),
    }),
    clientService: obj('The Service clients connect to (`<name>-client`).', {
      type: str('Service type.', { enum: ['ClusterIP', 'NodePort', 'LoadBalancer'], default: 'ClusterIP' }),
      annotations: stringMap('Annotations on the client Service (for example for a cloud load balancer).'),
      includeObservers: bool(
        "Whether the client Service and the discovery ConfigMap's member list include the observers (reads scale with them); false keeps client traffic on the voters.",
        { default: DEFAULTS.includeObservers },
      ),
    }),
    networkPolicy: networkPolicySchema,
    clusterDomain: str('DNS domain of the Kubernetes cluster, used in member addresses.', {
      default: DEFAULTS.clusterDomain,
      pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
      maxLength: 253,
      'x-kubernetes-validations': [
        {
          rule: 'self == oldSelf',
          message:
            'clusterDomain cannot be changed after creation: the committed ZooKeeper configuration names every member by its host name under this domain, and ZooKeeper commits a new name without checking that any member can resolve it (a member whose new name does not resolve keeps following and looks healthy until the next leader election, which no peer can then reach it in), so the operator cannot move members to another domain safely; create a new cluster instead',
        },
      ],
    }),
    paused: bool(
      'Stop every disruptive action (restarts, upgrades, membership changes). Status keeps being reported.',
      { default: false },
    ),
    rollingUpdate: obj('How restarts proceed.', {
      stepTimeoutSeconds: int(
        'How long one restarted member may take to serve and sync again before the roll stops and reports it.',
        { minimum: 30, maximum: 86400, default: DEFAULTS.stepTimeoutSeconds },
      ),
      leaderHandOff: bool(
        'Before the leader restarts, remove it from the membership by reconfig so that it hands leadership to a synced follower without an election; it restarts as a joiner and is added back. Only with three or more voters (fewer restart the leader plainly).',
        { default: DEFAULTS.leaderHandOff },
      ),
    }),
    tls: tlsSchema,
    authentication: authenticationSchema,
  },
  {
    'x-kubernetes-validations': [
      {
        rule: distinctTlsPortsRule,
        message:
          'with spec.tls, ports.secureClient and ports.loopbackClient must differ from each other and every other port',
      },
      {
        rule: "!has(self.jvm) || !has(self.jvm.heapMiB) || !has(self.resources) || !has(self.resources.limits) || !('memory' in self.resources.limits) || quantity(string(self.resources.limits['memory'])).asApproximateFloat() > double(self.jvm.heapMiB) * 1048576.0",
        message:
          'jvm.heapMiB must be smaller than resources.limits.memory: the JVM needs memory beyond its heap; lower the heap or raise the limit',
      },
      {
        rule: '!has(self.storage) || !has(self.storage.ephemeral) || !self.storage.ephemeral || !has(self.storage.storageClassName)',
        message: 'storage.storageClassName has no effect with storage.ephemeral: true; remove one of them',
      },
    ],
  },
);

const conditionSchema = obj(
  'A condition in the metav1.Condition shape.',
  {
    type: str('Condition type: Available, Progressing, Degraded or CertificateExpiringSoon.'),
    status: str('True, False or Unknown.', { enum: ['True', 'False', 'Unknown'] }),
    observedGeneration: int('The spec generation this condition was computed for.'),
    lastTransitionTime: str('When the status last changed.', { format: 'date-time' }),
    reason: str('A CamelCase reason code.'),
    message: str('What is going on, in words a person can act on.'),
  },
  { required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'] },
);

const memberSchema = obj(
  'One member as ZooKeeper itself reports it.',
  {
    pod: str('Pod name.'),
    myid: int('ZooKeeper server id (pod ordinal + 1).'),
    role: str('leader, follower, observer, standalone, read-only, or unknown when unreachable.'),
    serving: bool('The member answers client requests as part of a quorum.'),
    voting: bool('The member is a voter in the committed configuration.'),
    synced: bool('The leader counts this member as synced.'),
  },
  { required: ['pod', 'myid', 'role', 'serving', 'voting', 'synced'] },
);

const statusSchema = obj('Observed state of the ensemble.', {
  observedGeneration: int('The spec generation the operator last acted on.'),
  replicas: int('Voter pods that exist.'),
  readyReplicas: int('Voters that serve as part of the quorum.'),
  observers: int('Observer pods that exist.'),
  readyObservers: int('Observers that serve in sync with the leader.'),
  ready: str('Ready voters out of desired, then ready observers out of desired when there are any: 3/3, 3/3+2/2.'),
  selector: str('Label selector of the member pods (for the scale subresource).'),
  phase: str('One-word summary: Creating, Running, Restarting, Scaling, Degraded, Unavailable or Paused.'),
  conditions: {
    type: 'array',
    description: 'Conditions: Available, Progressing, Degraded.',
    items: conditionSchema,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['type'],
  },
  leader: str('Pod name of the current leader.'),
  members: { type: 'array', description: 'Each member as ZooKeeper reports it.', items: memberSchema },
  quorum: obj('Quorum as the leader sees it.', {
    size: int('Voters in the committed configuration.'),
    syncedVoters: int('The leader plus the voting followers that are in sync.'),
    faultTolerance: int('How many more voters may fail before quorum is lost (negative: no quorum).'),
  }),
  configVersion: str('Version of the committed dynamic configuration (hex).'),
  currentVersion: str('ZooKeeper version the members run.'),
  targetVersion: str('ZooKeeper version of the desired image.'),
  currentRevision: str('Pod revision every member runs, when they agree.'),
  targetRevision: str('Pod revision the operator rolls members to.'),
  clientConnectionString: str('Connection string for clients inside the cluster.'),
  operation: obj('The rolling restart or scaling step in progress.', {
    kind: str('RollingRestart, ScaleUp, ScaleDown, AddObservers or RemoveObservers.'),
    member: str('The member acted on now.'),
    waitingFor: str('What the current step waits for.'),
    startedAt: str('When the operation started.', { format: 'date-time' }),
    done: int('Steps completed.'),
    total: int('Steps in total.'),
  }),
  tls: tlsStatusSchema,
});

export const CRD_NAME = `${PLURAL}.${API_GROUP}`;

/** The whole CustomResourceDefinition object. */
export function buildCrd() {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: CRD_NAME },
    spec: {
      group: API_GROUP,
      names: { kind: KIND, listKind: LIST_KIND, plural: PLURAL, singular: SINGULAR, shortNames: [...SHORT_NAMES] },
      scope: 'Namespaced',
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: {
            status: {},
            scale: {
              specReplicasPath: '.spec.replicas',
              statusReplicasPath: '.status.replicas',
              labelSelectorPath: '.status.selector',
            },
          },
          additionalPrinterColumns: [
            {
              name: 'Ready',
              type: 'string',
              jsonPath: '.status.ready',
              description: 'Ready voters / desired, then + ready observers / desired when there are any',
            },
            { name: 'Leader', type: 'string', jsonPath: '.status.leader', description: 'Pod of the current leader' },
            { name: 'Version', type: 'string', jsonPath: '.status.currentVersion', description: 'ZooKeeper version' },
            {
              name: 'Available',
              type: 'string',
              jsonPath: '.status.conditions[?(@.type=="Available")].status',
              description: 'A leader and a majority of synced voters',
            },
            { name: 'Status', type: 'string', jsonPath: '.status.phase', description: 'One-word summary' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: obj(
              'A ZooKeeper ensemble run by zookeeper-operator: members restart one at a time, leader last, and membership changes through dynamic reconfiguration without losing quorum.',
              {
                apiVersion: str('APIVersion of this object.'),
                kind: str('Kind of this object.'),
                metadata: { type: 'object' },
                spec: { ...specSchema, default: {} },
                status: statusSchema,
              },
              {
                'x-kubernetes-validations': [
                  {
                    rule: `self.metadata.name.size() <= ${MAX_NAME_LENGTH}`,
                    message: `metadata.name must be at most ${MAX_NAME_LENGTH} characters: it prefixes the names of pods, Services and revisions`,
                  },
                  {
                    rule: `!has(self.spec.observers) || self.spec.observers == 0 || self.metadata.name.size() <= ${MAX_NAME_LENGTH_WITH_OBSERVERS}`,
                    message: `metadata.name must be at most ${MAX_NAME_LENGTH_WITH_OBSERVERS} characters for a cluster with observers: it prefixes the observer StatefulSet's revisions (\`<name>-observer-<hash>\`)`,
                  },
                  {
                    rule: "self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",
                    message:
                      "metadata.name must start with a lowercase letter and hold only lowercase letters, digits and '-': it names the cluster's Services, which must be DNS labels",
                  },
                ],
              },
            ),
          },
        },
      ],
    },
  };
}
