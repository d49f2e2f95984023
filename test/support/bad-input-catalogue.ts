/**
 * The bad-input catalogue: specs a person might write that no ensemble can run with, each with
 * where it is stopped and the words the person sees. `test/integration/crd.test.ts` submits
 * every admission case to the real kube-apiserver; the operator cases name the test that proves
 * them; `test/unit/docs/reliability.test.ts` checks that docs/reliability.md lists exactly these.
 */
import type { ZooKeeperClusterSpec } from '../../src/api/types.js';

export interface AdmissionCase {
  /** What the person wrote, as the docs show it. */
  input: string;
  stoppedAt: 'admission';
  /** The cluster's name, when the name is the bad input. */
  name?: string;
  spec: ZooKeeperClusterSpec;
  /** A change to an accepted `spec` that is refused (a transition rule). */
  update?: ZooKeeperClusterSpec;
  /** Words of the API server's answer, verbatim. */
  message: string;
}

/** A test, by its file and a fragment of its title as the source spells it. */
export interface TestRef {
  file: string;
  titleContains: string;
}

export interface OperatorCase {
  input: string;
  stoppedAt: 'operator';
  /** The condition reason or pod problem the operator reports. */
  message: string;
  provedBy: TestRef;
}

export type BadInput = AdmissionCase | OperatorCase;

/** A spec field's value as the API server writes it in a rejection. */
const bad = (input: string, spec: ZooKeeperClusterSpec, message: string): AdmissionCase => ({
  input,
  stoppedAt: 'admission',
  spec,
  message,
});

export const BAD_INPUTS: readonly BadInput[] = [
  // Members and image
  bad(
    '`replicas: 0`',
    { replicas: 0 },
    'spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1',
  ),
  bad('`replicas: 16`', { replicas: 16 }, 'spec.replicas in body should be less than or equal to 15'),
  bad(
    '`observers: -1`',
    { observers: -1 },
    'spec.observers: Invalid value: -1: spec.observers in body should be greater than or equal to 0',
  ),
  bad('`observers: 33`', { observers: 33 }, 'spec.observers in body should be less than or equal to 32'),
  bad(
    '`image: zookeeper:3.7.2`',
    { image: 'zookeeper:3.7.2' },
    'image tag names an unsupported ZooKeeper version; supported are 3.8 and 3.9',
  ),
  bad('`image: "zookeeper: 3.9.4"` (a space)', { image: 'zookeeper: 3.9.4' }, 'image must not contain whitespace'),
  bad('`imagePullPolicy: Sometimes`', { imagePullPolicy: 'Sometimes' as 'Always' }, 'Unsupported value: "Sometimes"'),
  {
    input: 'a name with a dot, `zk.prod`',
    stoppedAt: 'admission',
    name: 'zk.prod',
    spec: {},
    message: "metadata.name must start with a lowercase letter and hold only lowercase letters, digits and '-'",
  },
  {
    input: 'a name starting with a digit, `1zk`',
    stoppedAt: 'admission',
    name: '1zk',
    spec: {},
    message: "metadata.name must start with a lowercase letter and hold only lowercase letters, digits and '-'",
  },
  {
    input: 'a name of 53 characters',
    stoppedAt: 'admission',
    name: 'z'.repeat(53),
    spec: {},
    message: 'metadata.name must be at most 52 characters',
  },
  {
    input: 'a name of 44 characters with `observers: 1`',
    stoppedAt: 'admission',
    name: 'z'.repeat(44),
    spec: { observers: 1 },
    message: 'metadata.name must be at most 43 characters for a cluster with observers',
  },
  // zoo.cfg: keys the operator owns, guards, and values
  bad(
    '`config: {dataDir: /elsewhere}`',
    { config: { dataDir: '/elsewhere' } },
    'zoo.cfg key "dataDir" is managed by the operator and cannot be set in spec.config; remove it',
  ),
  bad(
    '`config: {server.4: …}`',
    { config: { 'server.4': 'zk-3:2888:3888' } },
    'zoo.cfg key "server.4" is managed by the operator',
  ),
  bad('`config: {skipACL: "yes"}`', { config: { skipACL: 'yes' } }, 'zoo.cfg key "skipACL" is managed by the operator'),
  bad(
    '`config: {db.autocreate: "true"}`',
    { config: { 'db.autocreate': 'true' } },
    'zoo.cfg key "db.autocreate" would set the system property zookeeper.db.autocreate, which the operator relies on',
  ),
  bad(
    '`config: {DigestAuthenticationProvider.superDigest: …}`',
    { config: { 'DigestAuthenticationProvider.superDigest': 'super:x' } },
    'would set the system property zookeeper.DigestAuthenticationProvider.superDigest',
  ),
  bad(
    '`config: {snapshot.trust.empty: "true"}`',
    { config: { 'snapshot.trust.empty': 'true' } },
    'would set the system property zookeeper.snapshot.trust.empty',
  ),
  bad(
    '`config: {ssl.clientAuth: none}`',
    { config: { 'ssl.clientAuth': 'none' } },
    'would set the system property zookeeper.ssl.clientAuth',
  ),
  bad(
    '`config: {authProvider.x509: …}`',
    { config: { 'authProvider.x509': 'org.apache.zookeeper.server.auth.X509AuthenticationProvider' } },
    'would set the system property zookeeper.authProvider.x509',
  ),
  bad(
    '`config: {admin.portUnification: "true"}`',
    { config: { 'admin.portUnification': 'true' } },
    'would set the system property zookeeper.admin.portUnification',
  ),
  bad(
    'a value with a line break, `tickTime: "2000\\nskipACL=yes"`',
    { config: { tickTime: '2000\nskipACL=yes' } },
    'the value of zoo.cfg key "tickTime" contains a line break',
  ),
  bad(
    'a value ending in a backslash, `maxCnxns: "100\\"`',
    { config: { maxCnxns: '100\\' } },
    'the value of zoo.cfg key "maxCnxns" ends with a backslash, which would join it with the next line of zoo.cfg',
  ),
  bad('a key with a space', { config: { 'bad key': 'x' } }, 'zoo.cfg key "bad key" is not a valid key'),
  bad('`tickTime: fast`', { config: { tickTime: 'fast' } }, 'zoo.cfg key "tickTime" must be a whole number'),
  bad(
    '`tickTime: "0"`',
    { config: { tickTime: '0' } },
    'zoo.cfg tickTime must be between 100 and 60000 (milliseconds)',
  ),
  bad(
    '`tickTime: "86400000"` (a day)',
    { config: { tickTime: '86400000' } },
    'zoo.cfg tickTime must be between 100 and 60000 (milliseconds)',
  ),
  bad('`initLimit: "0"`', { config: { initLimit: '0' } }, 'zoo.cfg initLimit must be between 1 and 1000 (ticks)'),
  bad('`syncLimit: "0"`', { config: { syncLimit: '0' } }, 'zoo.cfg syncLimit must be between 1 and 1000 (ticks)'),
  bad(
    '`syncLimit: "99999999999999999999"`',
    { config: { syncLimit: '99999999999999999999' } },
    'zoo.cfg syncLimit must be between 1 and 1000 (ticks)',
  ),
  bad(
    '`autopurge.snapRetainCount: "1"`',
    { config: { 'autopurge.snapRetainCount': '1' } },
    'zoo.cfg autopurge.snapRetainCount must be between 3 and 1000',
  ),
  bad(
    '`snapCount: "1"`',
    { config: { snapCount: '1' } },
    'zoo.cfg snapCount must be between 2 and 100000000 (transactions)',
  ),
  bad(
    '`maxClientCnxns: "1000000"`',
    { config: { maxClientCnxns: '1000000' } },
    'zoo.cfg maxClientCnxns must be between 0 and 100000',
  ),
  bad(
    '`minSessionTimeout: "60000"`, `maxSessionTimeout: "30000"`',
    { config: { minSessionTimeout: '60000', maxSessionTimeout: '30000' } },
    'zoo.cfg minSessionTimeout must not exceed maxSessionTimeout',
  ),
  bad(
    '`maxSessionTimeout: "3000"` with the default tickTime (minimum 4000)',
    { config: { maxSessionTimeout: '3000' } },
    'zoo.cfg minSessionTimeout must not exceed maxSessionTimeout (by default 2 and 20 times tickTime)',
  ),
  // JVM
  bad('`jvm.heapMiB: 8`', { jvm: { heapMiB: 8 } }, 'spec.jvm.heapMiB in body should be greater than or equal to 64'),
  bad(
    '`jvm.heapMiB: 4096` with `limits.memory: 2Gi`',
    { jvm: { heapMiB: 4096 }, resources: { limits: { memory: '2Gi' } } },
    'jvm.heapMiB must be smaller than resources.limits.memory',
  ),
  bad(
    '`jvm.heapMiB: 2048` with `limits.memory: 2Gi` (no room beyond the heap)',
    { jvm: { heapMiB: 2048 }, resources: { limits: { memory: '2Gi' } } },
    'jvm.heapMiB must be smaller than resources.limits.memory',
  ),
  bad('`extraFlags: ["-Xss1m -Xmx1g"]`', { jvm: { extraFlags: ['-Xss1m -Xmx1g'] } }, 'give each flag its own entry'),
  bad('`extraFlags: ["XX:+UseG1GC"]`', { jvm: { extraFlags: ['XX:+UseG1GC'] } }, 'each JVM flag must start with "-"'),
  bad(
    '`extraFlags: ["-Xmx8g"]`',
    { jvm: { extraFlags: ['-Xmx8g'] } },
    'set the heap with jvm.heapMiB, not with a JVM flag',
  ),
  bad(
    '`extraFlags: ["-Dzookeeper.skipACL=yes"]`',
    { jvm: { extraFlags: ['-Dzookeeper.skipACL=yes'] } },
    'a -Dzookeeper. flag may not set',
  ),
  bad(
    '`extraFlags: ["-Dzookeeper.4lw.commands.whitelist=*"]`',
    { jvm: { extraFlags: ['-Dzookeeper.4lw.commands.whitelist=*'] } },
    'a -Dzookeeper. flag may not set',
  ),
  bad(
    '`extraFlags: ["-Dzookeeper.admin.serverAddress=0.0.0.0"]`',
    { jvm: { extraFlags: ['-Dzookeeper.admin.serverAddress=0.0.0.0'] } },
    'a -Dzookeeper. flag may not set',
  ),
  bad(
    '`extraFlags: ["-Dzookeeper.sslQuorum=false"]`',
    { jvm: { extraFlags: ['-Dzookeeper.sslQuorum=false'] } },
    'a -Dzookeeper. flag may not set',
  ),
  // Resources and storage
  bad(
    '`requests.memory: 4Gi` with `limits.memory: 2Gi`',
    { resources: { requests: { memory: '4Gi' }, limits: { memory: '2Gi' } } },
    'resources.requests.memory must not exceed resources.limits.memory',
  ),
  bad(
    '`requests.cpu: "2"` with `limits.cpu: 500m`',
    { resources: { requests: { cpu: '2' }, limits: { cpu: '500m' } } },
    'resources.requests.cpu must not exceed resources.limits.cpu',
  ),
  bad(
    '`limits.memory: 64Mi`',
    { resources: { limits: { memory: '64Mi' } } },
    'resources.limits.memory must be at least 128Mi',
  ),
  bad('`limits.memory: lots`', { resources: { limits: { memory: 'lots' } } }, 'spec.resources.limits.memory'),
  bad(
    '`storage.size: "0"`',
    { storage: { size: '0' } },
    'storage.size 0 is not a size a member volume can have: give between 64Mi and 1Pi',
  ),
  bad(
    '`storage.size: 100Ei`',
    { storage: { size: '100Ei' } },
    'storage.size 100Ei is not a size a member volume can have',
  ),
  bad('`storage.size: ten gigs`', { storage: { size: 'ten gigs' } }, 'spec.storage.size'),
  bad('`storage.reclaimPolicy: Keep`', { storage: { reclaimPolicy: 'Keep' as 'Retain' } }, 'Unsupported value: "Keep"'),
  bad(
    '`storage: {ephemeral: true, storageClassName: ssd}`',
    { storage: { ephemeral: true, storageClassName: 'ssd' } },
    'storageClassName has no effect with storage.ephemeral',
  ),
  // Ports, names, pods
  bad('`ports.admin: 2181` (the client port)', { ports: { admin: 2181 } }, 'ports must all be different'),
  bad(
    '`ports.secureClient: 2181` (the client port) with `tls`',
    { ports: { secureClient: 2181 }, tls: { client: true } },
    'ports.secureClient and ports.loopbackClient must differ',
  ),
  bad(
    '`ports.client: 70000`',
    { ports: { client: 70_000 } },
    'spec.ports.client in body should be less than or equal to 65535',
  ),
  bad('`clusterDomain: Cluster.Local`', { clusterDomain: 'Cluster.Local' }, 'spec.clusterDomain in body should match'),
  bad(
    '`pod.labels: {app.kubernetes.io/instance: other}`',
    { pod: { labels: { 'app.kubernetes.io/instance': 'other' } } },
    'pod labels may not use the app.kubernetes.io/ prefix',
  ),
  bad(
    '`pod.terminationGracePeriodSeconds: 0`',
    { pod: { terminationGracePeriodSeconds: 0 } },
    'spec.pod.terminationGracePeriodSeconds in body should be greater than or equal to 1',
  ),
  bad(
    '`rollingUpdate.stepTimeoutSeconds: 5`',
    { rollingUpdate: { stepTimeoutSeconds: 5 } },
    'spec.rollingUpdate.stepTimeoutSeconds in body should be greater than or equal to 30',
  ),
  // TLS certificates
  bad(
    '`tls.certificates.lifetime: 30m`',
    { tls: { certificates: { lifetime: '30m' } } },
    'tls.certificates.lifetime must be between 1h and 8760h',
  ),
  bad(
    '`tls.certificates.lifetime: 90d` (days)',
    { tls: { certificates: { lifetime: '90d' } } },
    'spec.tls.certificates.lifetime in body should match',
  ),
  bad(
    '`tls.certificates.renewBefore: 1m`',
    { tls: { certificates: { renewBefore: '1m' } } },
    'tls.certificates.renewBefore must be at least 5m: time to notice a renewal that fails',
  ),
  bad(
    '`tls.certificates: {lifetime: 2h, renewBefore: 2h}`',
    { tls: { certificates: { lifetime: '2h', renewBefore: '2h' } } },
    'tls.certificates.renewBefore must be shorter than lifetime by at least 30s',
  ),
  bad(
    '`tls.certificates.caLifetime: 24h` with the default 2160h lifetime',
    { tls: { certificates: { caLifetime: '24h' } } },
    'tls.certificates.caLifetime must be at least three times lifetime',
  ),
  bad(
    '`tls.certificates` naming both `caSecretName` and `issuerRef`',
    { tls: { certificates: { caSecretName: 'org-ca', issuerRef: { name: 'org-ca' } } } },
    'tls.certificates names one CA: caSecretName (your CA in a Secret) or issuerRef (cert-manager issues it), not both',
  ),
  bad(
    '`tls.certificates.issuerRef.kind: Certificate`',
    { tls: { certificates: { issuerRef: { name: 'org-ca', kind: 'Certificate' as 'Issuer' } } } },
    'spec.tls.certificates.issuerRef.kind: Unsupported value: "Certificate"',
  ),
  // Network policy peers
  bad(
    '`networkPolicy.clients: {}`',
    { networkPolicy: { clients: {} } },
    'give a namespaceSelector, a podSelector or both; to admit any source, leave this field out',
  ),
  bad(
    'a selector label key with a space',
    { networkPolicy: { clients: { namespaceSelector: { matchLabels: { 'team name': 'a' } } } } },
    'label key "team name" is not valid',
  ),
  bad(
    'a selector label value with a space',
    { networkPolicy: { clients: { podSelector: { matchLabels: { app: 'not ok' } } } } },
    'spec.networkPolicy.clients.podSelector.matchLabels.app',
  ),
  bad(
    '`operator: In` without values',
    { networkPolicy: { clients: { podSelector: { matchExpressions: [{ key: 'app', operator: 'In' }] } } } },
    'operator In needs at least one value',
  ),
  bad(
    '`operator: Exists` with values',
    {
      networkPolicy: {
        clients: { podSelector: { matchExpressions: [{ key: 'app', operator: 'Exists', values: ['zk'] }] } },
      },
    },
    'operator Exists takes no values',
  ),
  bad(
    '`operator: Matches`',
    {
      networkPolicy: {
        clients: { podSelector: { matchExpressions: [{ key: 'app', operator: 'Matches' as 'In', values: ['zk'] }] } },
      },
    },
    'Unsupported value: "Matches"',
  ),
  // Changes that cannot finish
  {
    input: 'shrinking `storage.size` from 20Gi to 5Gi',
    stoppedAt: 'admission',
    spec: { storage: { size: '20Gi' } },
    update: { storage: { size: '5Gi' } },
    message: 'storage.size may not shrink (from 20Gi to 5Gi)',
  },
  {
    input: 'changing `clusterDomain` of a running cluster',
    stoppedAt: 'admission',
    spec: {},
    update: { clusterDomain: 'example.internal' },
    message: 'ZooKeeper commits a new name without checking that any member can resolve it',
  },
  {
    input: 'changing `storage.storageClassName`',
    stoppedAt: 'admission',
    spec: { storage: { storageClassName: 'standard' } },
    update: { storage: { storageClassName: 'fast' } },
    message: 'storageClassName cannot be changed after creation',
  },
  // What only the cluster can tell
  {
    input: 'an image that does not exist, `zookeeper:3.9.99`',
    stoppedAt: 'operator',
    message: 'the roll stops with one member down and says `ImagePullBackOff` with the kubelet’s words',
    provedBy: {
      file: 'test/e2e/ensemble-health.test.ts',
      titleContains: 'a crash-looping member stops the roll with a clear condition, and fixing the spec finishes it',
    },
  },
  {
    input: 'a `nodeSelector` no node has',
    stoppedAt: 'operator',
    message: 'members stay `Pending` with the scheduler’s `FailedScheduling` Event; status quotes it',
    provedBy: {
      file: 'test/integration/scheduling.test.ts',
      titleContains: 'a pod whose nodeSelector matches no node stays Pending with FailedScheduling and never runs',
    },
  },
  {
    input: 'a `NAME-super-user` Secret the cluster does not own',
    stoppedAt: 'operator',
    message: 'reason `SuperUserSecretNotOwned`: nothing is applied or restarted',
    provedBy: {
      file: 'test/integration/reconcile.test.ts',
      titleContains:
        'a super-user Secret planted before the cluster is never used: a condition and a Warning say so until it is deleted',
    },
  },
  {
    input: 'a SASL users’ Secret (`authentication.digestUsers`) that does not exist',
    stoppedAt: 'operator',
    message: 'reason `DigestUsersSecretMissing`: nothing is applied or restarted until it exists',
    provedBy: {
      file: 'test/unit/controller/reconciler.test.ts',
      titleContains:
        'a SASL users’ Secret that does not exist: nothing is applied, a Warning Event and Degraded name it',
    },
  },
  {
    input: 'a SASL user named `super`',
    stoppedAt: 'operator',
    message: 'reason `DigestUserReserved`: the super user is the operator’s alone; no member is restarted',
    provedBy: { file: 'test/unit/controller/reconciler.test.ts', titleContains: 'a user named super' },
  },
  {
    input: 'a SASL user with an empty password, or one with `${`',
    stoppedAt: 'operator',
    message: 'reason `DigestUserInvalid`, naming the user, never the password; no member is restarted',
    provedBy: {
      file: 'test/unit/controller/reconciler.test.ts',
      titleContains: 'no member is restarted, and the Event names the user, never a password',
    },
  },
  {
    input: 'a `tls.certificates.caSecretName` Secret that does not exist',
    stoppedAt: 'operator',
    message: 'reason `CaSecretMissing`, naming the Secret: no certificate is issued or renewed until it exists',
    provedBy: {
      file: 'test/integration/user-ca.test.ts',
      titleContains: 'members are issued under the CA in a Secret the user names',
    },
  },
  {
    input: 'a `tls.certificates.caSecretName` Secret whose certificate is no CA, or whose key is not its own',
    stoppedAt: 'operator',
    message: 'reason `CaSecretUnusable`, naming the Secret and the problem: no certificate is issued or renewed',
    provedBy: {
      file: 'test/unit/controller/certificates.test.ts',
      titleContains: 'a CA Secret that is missing or cannot sign blocks every issuance',
    },
  },
  {
    input: 'a new CA in the `caSecretName` Secret with the subject of the CA in use',
    stoppedAt: 'operator',
    message:
      'reason `CaSubjectReused`, naming the Secret and the subject: members keep their certificates, nothing is reissued',
    provedBy: {
      file: 'test/unit/controller/certificates.test.ts',
      titleContains: 'a new CA with the subject of one members trust is refused',
    },
  },
  {
    input: 'a `tls.trustedClientCAs` Secret that does not exist',
    stoppedAt: 'operator',
    message: 'reason `TrustedClientCAsUnusable`: no member object is applied; certificates are still issued',
    provedBy: {
      file: 'test/unit/controller/certificates-reconcile.test.ts',
      titleContains: 'a trusted client CAs Secret that does not exist',
    },
  },
  {
    input: 'a `tls.trustedClientCAs` Secret with no PEM certificate under `ca.crt`',
    stoppedAt: 'operator',
    message: 'reason `TrustedClientCAsUnusable`: holds no PEM certificate under ca.crt; no member object is applied',
    provedBy: {
      file: 'test/unit/controller/certificates-reconcile.test.ts',
      titleContains: 'a trusted client CAs Secret without a certificate',
    },
  },
  {
    input: 'a `NAME-ca` Secret with the operator’s labels that the cluster does not own',
    stoppedAt: 'operator',
    message: 'reason `TlsSecretNotOwned`: no certificate is issued; the Secret is never used or changed',
    provedBy: {
      file: 'test/unit/controller/certificates-reconcile.test.ts',
      titleContains: 'a CA Secret planted with the operator’s labels but no owner is never used or replaced',
    },
  },
  {
    input: 'a `storage.size` the StorageClass cannot grow to',
    stoppedAt: 'operator',
    message: 'reason `VolumeResizeRefused`, naming the claim and the StorageClass',
    provedBy: {
      file: 'test/e2e/volume-expansion.test.ts',
      titleContains: 'a StorageClass without volume expansion: the refusal is reported and nothing is recreated',
    },
  },
  {
    input: 'a StatefulSet scaled by hand below the committed voters',
    stoppedAt: 'operator',
    message: 'Warning `StatefulSetReplicasRestored`: the count goes back to the committed voters',
    provedBy: {
      file: 'test/e2e/scaling.test.ts',
      titleContains: 'is restored to the committed voters; quorum comes back, no write lost',
    },
  },
];

/** The catalogue as the table in docs/reliability.md. */
export function badInputTable(cases: readonly BadInput[] = BAD_INPUTS): string {
  const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
  const rows = cases.map((c) =>
    c.stoppedAt === 'admission'
      ? `| ${cell(c.input)} | admission (${c.update === undefined ? 'create' : 'update'}) | ${cell(c.message)} |`
      : `| ${cell(c.input)} | operator (\`${c.provedBy.file}\`) | ${cell(c.message)} |`,
  );
  return ['| input | stopped at | what the person reads |', '| --- | --- | --- |', ...rows].join('\n');
}
