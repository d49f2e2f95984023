/**
 * Names that identify the ZooKeeperCluster API and the objects the operator owns.
 * Everything that must agree between the CRD, the renderer and the controller lives here.
 */

export const API_GROUP = 'zookeeper.ensembles.dev';
export const API_VERSION = 'v1alpha1';
export const API_GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;
export const KIND = 'ZooKeeperCluster';
export const LIST_KIND = 'ZooKeeperClusterList';
export const PLURAL = 'zookeeperclusters';
export const SINGULAR = 'zookeepercluster';
export const SHORT_NAMES = ['zk', 'zkc'] as const;

/** The field manager for server-side apply and the value of `app.kubernetes.io/managed-by`. */
export const OPERATOR_NAME = 'zookeeper-operator';

/** ZooKeeper versions (major.minor) the operator knows how to run and upgrade. */
export const SUPPORTED_MINOR_VERSIONS = ['3.8', '3.9'] as const;
export const DEFAULT_IMAGE = 'zookeeper:3.9.4';

/**
 * Longest cluster name: `<name>-headless` must be a DNS label (63) and the StatefulSet's
 * `controller-revision-hash` label value `<name>-<10 chars>` must fit in 63 characters too.
 */
export const MAX_NAME_LENGTH = 52;
export const MIN_REPLICAS = 1;
/** ZooKeeper's write latency grows with every voter; beyond this an ensemble wants observers instead. */
export const MAX_REPLICAS = 15;
/**
 * Observers (non-voting members) a cluster may have. Their server ids are OBSERVER_ID_BASE + 1
 * upwards, apart from the voters' 1..MAX_REPLICAS, and ZooKeeper's ids stay below 255.
 */
export const MAX_OBSERVERS = 32;
export const OBSERVER_ID_BASE = 100;
/**
 * Longest cluster name with observers: the observer StatefulSet's revision label value
 * `<name>-observer-<10 chars>` must fit in 63 characters.
 */
export const MAX_NAME_LENGTH_WITH_OBSERVERS = 43;

export const ANNOTATION_PREFIX = API_GROUP;
/** Pod-template annotation: a hash of everything that takes a restart to take effect. */
export const REVISION_ANNOTATION = `${ANNOTATION_PREFIX}/revision`;
/**
 * Set on a ZooKeeperCluster (any new value, e.g. a timestamp) to ask for a rolling restart
 * without changing the spec; it is copied into the pod template, so it changes the revision.
 */
export const RESTART_ANNOTATION = `${ANNOTATION_PREFIX}/restartedAt`;
/**
 * Pod-template annotation: a keyed fingerprint of the SASL users' Secret. Members read their users
 * only at start, so a change of users changes the revision and rolls them.
 */
export const DIGEST_USERS_ANNOTATION = `${ANNOTATION_PREFIX}/digest-users`;

/**
 * zoo.cfg keys the operator owns: the pod layout, membership, reconfiguration and the
 * endpoints probes and the operator depend on. A user override of one of these would break
 * the ensemble or the operator's view of it, so the CRD rejects them.
 */
export const RESERVED_CONFIG_KEYS = [
  '4lw.commands.whitelist',
  'admin.commandURL',
  'admin.enableServer',
  'admin.serverAddress',
  'admin.serverPort',
  'clientPort',
  'clientPortAddress',
  'dataDir',
  'dataLogDir',
  'dynamicConfigFile',
  'metricsProvider.className',
  'metricsProvider.httpHost',
  'metricsProvider.httpPort',
  'quorumListenOnAllIPs',
  'reconfigEnabled',
  'secureClientPort',
  'skipACL',
  'standaloneEnabled',
] as const;

/** Prefixes of zoo.cfg keys that belong to the dynamic (membership) configuration. */
export const RESERVED_CONFIG_PREFIXES = ['server.', 'group.', 'weight.'] as const;

/** zoo.cfg keys whose value must be a whole number (ZooKeeper refuses to start otherwise). */
export const INTEGER_CONFIG_KEYS = [
  'autopurge.purgeInterval',
  'autopurge.snapRetainCount',
  'globalOutstandingLimit',
  'initLimit',
  'maxClientCnxns',
  'maxSessionTimeout',
  'minSessionTimeout',
  'preAllocSize',
  'snapCount',
  'syncLimit',
  'tickTime',
] as const;

/**
 * Inclusive bounds of the numeric zoo.cfg values, with their unit. ZooKeeper refuses to start
 * below some (a zero tickTime, initLimit or syncLimit), silently raises others (fewer than 3
 * retained snapshots), and nothing above the upper bounds is a working ensemble (a tick of
 * minutes, a sync limit of hours).
 */
export const CONFIG_VALUE_BOUNDS: Readonly<
  Record<(typeof INTEGER_CONFIG_KEYS)[number], { min: number; max: number; unit: string }>
> = {
  'autopurge.purgeInterval': { min: 0, max: 8_760, unit: 'hours; 0 turns purging off' },
  'autopurge.snapRetainCount': { min: 3, max: 1_000, unit: 'snapshots; ZooKeeper keeps at least 3' },
  globalOutstandingLimit: { min: 1, max: 10_000_000, unit: 'requests' },
  initLimit: { min: 1, max: 1_000, unit: 'ticks' },
  maxClientCnxns: { min: 0, max: 100_000, unit: 'connections per client address; 0 is unlimited' },
  maxSessionTimeout: { min: 1, max: 86_400_000, unit: 'milliseconds' },
  minSessionTimeout: { min: 1, max: 86_400_000, unit: 'milliseconds' },
  preAllocSize: { min: 1, max: 1_048_576, unit: 'KiB' },
  snapCount: { min: 2, max: 100_000_000, unit: 'transactions' },
  syncLimit: { min: 1, max: 1_000, unit: 'ticks' },
  tickTime: { min: 100, max: 60_000, unit: 'milliseconds' },
};

/**
 * ZooKeeper system properties the operator's safety rests on: the super user's digest (reconfig
 * without skipACL), `db.autocreate=false` (an empty member syncs before it votes), ACLs, the 4lw
 * whitelist, the loopback-only AdminServer and the TLS settings of each phase. zoo.cfg keys ZooKeeper does not know become
 * `zookeeper.<key>` system properties, so neither `spec.config` nor a `-Dzookeeper.` JVM flag may
 * name one. An entry ending in "." is a prefix.
 */
export const GUARDED_PROPERTIES = [
  '4lw.commands.whitelist',
  'admin.',
  // Which ACL schemes exist and who is a super user: the operator's alone (spec.tls, spec.authentication).
  'authProvider.',
  'SaslAuthenticationProvider.',
  'superUser',
  'superUser.',
  'X509AuthenticationProvider.superUser',
  'DigestAuthenticationProvider.',
  // TLS: which ports speak it, with which stores, checking whom (spec.tls and its phases).
  'ssl.',
  'sslQuorum',
  'sslQuorumReloadCertFiles',
  'portUnification',
  'client.portUnification',
  'client.certReload',
  'serverCnxnFactory',
  'secureClientPortAddress',
  'db.autocreate',
  'electionPortBindRetry',
  'skipACL',
  'snapshot.trust.empty',
] as const;

/**
 * The SASL user name no Secret may hold: ZooKeeper's DIGEST-MD5 server takes the password of a
 * user `super` from a system property when one is set, and `super` is the operator's name for
 * its own digest super user. The super user stays the operator's alone.
 */
export const RESERVED_SASL_USER = 'super';

/** JVM flags that size the heap, which `jvm.heapMiB` owns (the operator checks it against the memory limit). */
export const HEAP_FLAG_PREFIXES = [
  '-Xmx',
  '-Xms',
  '-XX:MaxHeapSize',
  '-XX:InitialHeapSize',
  '-XX:MinHeapSize',
] as const;

/** The smallest memory limit a member runs in: a 64 MiB heap plus the JVM's own memory. */
export const MIN_MEMORY_LIMIT = '128Mi';

/** Claim sizes a volume can have and ZooKeeper can use: room for a snapshot and a log, and no more than any disk. */
export const STORAGE_SIZE_BOUNDS = { min: '64Mi', max: '1Pi' } as const;

/**
 * 4lw commands the members answer, and nothing else: probe.sh asks `ruok` (live) and `srvr`
 * (ready), the operator `srvr`, `mntr` and `conf`. None reveals a secret or changes state.
 */
export const FOUR_LETTER_WORDS = ['conf', 'mntr', 'ruok', 'srvr'] as const;
