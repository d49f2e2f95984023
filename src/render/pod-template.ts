/**
 * The member pod template, per docs/design/pod-contract.md. Everything in it takes a restart
 * to take effect; the membership list is deliberately absent (it changes through reconfig).
 */
import type { V1Affinity, V1PodTemplateSpec, V1Probe, V1Volume } from '@kubernetes/client-node';
import { DIGEST_USERS_ANNOTATION, RESTART_ANNOTATION } from '../api/constants.js';
import { DEFAULTS, type ResolvedSpec } from '../api/defaults.js';
import {
  CLIENT_TLS_ANNOTATION,
  QUORUM_TLS_ANNOTATION,
  servesSecureClientPort,
  type TlsPhase,
  templateClientPhase,
  usesCertificates,
} from '../api/tls-phases.js';
import { TRUSTED_CLIENT_CAS_KEY } from '../api/tls-schema.js';
import { configVolumeItems } from './config-map.js';
import { type ClusterRef, commonLabels, type MemberKind, objectNames, selectorLabels } from './names.js';

/** Container paths of the volumes; the scripts read them from the environment. */
export const MOUNT_PATHS = {
  config: '/config',
  conf: '/conf',
  data: '/data',
  logs: '/logs',
  tmp: '/tmp',
  tls: '/tls',
  digestUsers: '/digest-users',
  clientCAs: '/client-cas',
} as const;

/** JVM flags every member runs with. */
export function jvmFlags(spec: Pick<ResolvedSpec, 'extraJvmFlags'>): string {
  return [
    // Keep retrying to bind the election port while the pod's DNS name is not resolvable yet.
    '-Dzookeeper.electionPortBindRetry=0',
    // A member whose volume was wiped must sync from the leader before it may vote.
    '-Dzookeeper.db.autocreate=false',
    // A restarted peer comes back with a new pod IP; the JVM's default 30 s DNS cache would
    // keep its members dialling the old one for that long.
    '-Dsun.net.inetaddr.ttl=1',
    '-Dsun.net.inetaddr.negative.ttl=1',
    ...spec.extraJvmFlags,
  ].join(' ');
}

const execProbe = (mode: 'live' | 'ready', timing: Omit<V1Probe, 'exec'>): V1Probe => ({
  exec: { command: ['/bin/bash', `${MOUNT_PATHS.config}/probe.sh`, mode] },
  ...timing,
});

function defaultAffinity(cluster: ClusterRef): V1Affinity {
  return {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        {
          weight: 100,
          podAffinityTerm: {
            topologyKey: 'kubernetes.io/hostname',
            labelSelector: { matchLabels: selectorLabels(cluster) },
          },
        },
      ],
    },
  };
}

function volumes(cluster: ClusterRef, spec: ResolvedSpec, configFilesHash: string, tls: TlsPhase): V1Volume[] {
  const list: V1Volume[] = [
    {
      name: 'config',
      configMap: {
        name: objectNames(cluster).configMap,
        defaultMode: 0o555,
        items: configVolumeItems(configFilesHash),
      },
    },
    { name: 'conf', emptyDir: {} },
    { name: 'logs', emptyDir: {} },
    { name: 'tmp', emptyDir: {} },
  ];
  if (spec.storage.ephemeral) list.push({ name: 'data', emptyDir: {} });
  // Every member's key store and the CA bundle; the start script copies out its own.
  if (usesCertificates(tls)) {
    list.push({ name: 'tls', secret: { secretName: objectNames(cluster).tlsSecret, defaultMode: 0o440 } });
  }
  // More CAs of the user's for client certificates, added to the clients' trust store.
  const trustedClientCAs = spec.tls?.trustedClientCAs;
  if (usesCertificates(tls) && trustedClientCAs !== undefined) {
    // Only the certificates: the Secret of a cert-manager CA Issuer holds the CA's key beside them.
    list.push({
      name: 'client-cas',
      secret: {
        secretName: trustedClientCAs.secretName,
        items: [{ key: TRUSTED_CLIENT_CAS_KEY, path: TRUSTED_CLIENT_CAS_KEY }],
        defaultMode: 0o444,
      },
    });
  }
  // The users' passwords, read once by the start script into the JAAS file.
  if (spec.digestUsers !== undefined) {
    list.push({ name: 'digest-users', secret: { secretName: spec.digestUsers.secretName, defaultMode: 0o440 } });
  }
  return list;
}

/** The annotations that record a pod's TLS rungs, the planner's evidence; none on plaintext. */
function tlsAnnotations(tls: TlsPhase): Record<string, string> {
  const client = templateClientPhase(tls.client);
  return {
    ...(tls.quorum === 'plaintext' ? {} : { [QUORUM_TLS_ANNOTATION]: tls.quorum }),
    ...(client === 'plaintext' ? {} : { [CLIENT_TLS_ANNOTATION]: client }),
  };
}

/**
 * What changes the revision without changing the spec: the cluster's restart request, and the
 * fingerprint of the SASL users' Secret (`controller/digest-users.ts`), since members read their
 * users only at start. The fingerprint is keyed, so the template never reveals the passwords.
 */
export interface RestartInputs {
  restartedAt?: string | undefined;
  digestUsers?: string | undefined;
}

/**
 * The pod template without the revision annotation (the revision is a hash of this).
 * `configFilesHash` names the revision's files in the ConfigMap (`config-map.ts`).
 * `tls` is the rung of each TLS ladder the pod runs (`tls-phases.ts`).
 * `restart`: a new value of either changes the revision.
 * An observer's pod differs only in its component label (`observer`) and its files (`configFilesHash`).
 */
export function renderPodTemplate(
  cluster: ClusterRef,
  spec: ResolvedSpec,
  configFilesHash: string,
  tls: TlsPhase,
  restart: RestartInputs = {},
  kind: MemberKind = 'voter',
): V1PodTemplateSpec {
  const { pod, ports } = spec;
  const annotations = {
    ...pod.annotations,
    ...tlsAnnotations(tls),
    ...(restart.restartedAt === undefined ? {} : { [RESTART_ANNOTATION]: restart.restartedAt }),
    ...(spec.digestUsers === undefined || restart.digestUsers === undefined
      ? {}
      : { [DIGEST_USERS_ANNOTATION]: restart.digestUsers }),
  };
  const digestUsers = spec.digestUsers !== undefined;
  const certificates = usesCertificates(tls);
  const clientCAs = certificates && spec.tls?.trustedClientCAs !== undefined;
  const secureClient = servesSecureClientPort(tls);
  return {
    metadata: {
      labels: { ...pod.labels, ...commonLabels(cluster, kind === 'voter' ? 'server' : 'observer') },
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
    spec: {
      affinity: pod.affinity ?? defaultAffinity(cluster),
      // A member never calls the Kubernetes API, so it gets no token to leak. A service account
      // the user names is the user's to configure: its own automount setting then decides.
      ...(pod.serviceAccountName ? {} : { automountServiceAccountToken: false }),
      containers: [
        {
          name: 'zookeeper',
          image: spec.image,
          imagePullPolicy: spec.imagePullPolicy,
          command: ['/bin/bash', `${MOUNT_PATHS.config}/start.sh`],
          env: [
            { name: 'ZK_CONFIG_SOURCE', value: MOUNT_PATHS.config },
            { name: 'ZOOCFGDIR', value: MOUNT_PATHS.conf },
            { name: 'ZK_DATA_DIR', value: MOUNT_PATHS.data },
            { name: 'ZOO_LOG_DIR', value: MOUNT_PATHS.logs },
            { name: 'ZK_CLIENT_PORT', value: String(ports.client) },
            { name: 'ZK_SERVER_HEAP', value: String(spec.heapMiB) },
            ...(certificates ? [{ name: 'ZK_TLS_SOURCE', value: MOUNT_PATHS.tls }] : []),
            ...(clientCAs ? [{ name: 'ZK_CLIENT_CAS_SOURCE', value: MOUNT_PATHS.clientCAs }] : []),
            ...(digestUsers ? [{ name: 'ZK_DIGEST_USERS_SOURCE', value: MOUNT_PATHS.digestUsers }] : []),
            ...(secureClient ? [{ name: 'ZK_LOOPBACK_CLIENT_PORT', value: String(ports.loopbackClient) }] : []),
            { name: 'SERVER_JVMFLAGS', value: jvmFlags(spec) },
            // The super user may reconfigure the ensemble (no skipACL); start.sh adds the flag.
            {
              name: 'ZK_SUPER_DIGEST',
              valueFrom: { secretKeyRef: { name: objectNames(cluster).superUserSecret, key: 'digest' } },
            },
          ],
          // No admin port: the AdminServer listens on the pod's loopback only (see zoo-cfg.ts).
          ports: [
            { name: 'client', containerPort: ports.client, protocol: 'TCP' },
            ...(secureClient ? [{ name: 'secure-client', containerPort: ports.secureClient, protocol: 'TCP' }] : []),
            { name: 'quorum', containerPort: ports.quorum, protocol: 'TCP' },
            { name: 'election', containerPort: ports.election, protocol: 'TCP' },
            { name: 'metrics', containerPort: ports.metrics, protocol: 'TCP' },
          ],
          resources: spec.resources,
          // Large snapshots take long to load: the startup probe holds liveness off for up to 10 minutes.
          startupProbe: execProbe('live', { periodSeconds: 5, timeoutSeconds: 10, failureThreshold: 120 }),
          livenessProbe: execProbe('live', { periodSeconds: 10, timeoutSeconds: 10, failureThreshold: 6 }),
          readinessProbe: execProbe('ready', { periodSeconds: 5, timeoutSeconds: 10, failureThreshold: 2 }),
          securityContext: {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
            readOnlyRootFilesystem: true,
          },
          volumeMounts: [
            { name: 'config', mountPath: MOUNT_PATHS.config, readOnly: true },
            { name: 'conf', mountPath: MOUNT_PATHS.conf },
            { name: 'data', mountPath: MOUNT_PATHS.data },
            { name: 'logs', mountPath: MOUNT_PATHS.logs },
            { name: 'tmp', mountPath: MOUNT_PATHS.tmp },
            ...(certificates ? [{ name: 'tls', mountPath: MOUNT_PATHS.tls, readOnly: true }] : []),
            ...(clientCAs ? [{ name: 'client-cas', mountPath: MOUNT_PATHS.clientCAs, readOnly: true }] : []),
            ...(digestUsers ? [{ name: 'digest-users', mountPath: MOUNT_PATHS.digestUsers, readOnly: true }] : []),
          ],
        },
      ],
      ...(pod.imagePullSecrets ? { imagePullSecrets: pod.imagePullSecrets } : {}),
      ...(pod.nodeSelector ? { nodeSelector: pod.nodeSelector } : {}),
      ...(pod.priorityClassName ? { priorityClassName: pod.priorityClassName } : {}),
      restartPolicy: 'Always',
      securityContext: pod.securityContext ?? {
        fsGroup: DEFAULTS.runAsUser,
        runAsGroup: DEFAULTS.runAsUser,
        runAsNonRoot: true,
        runAsUser: DEFAULTS.runAsUser,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      ...(pod.serviceAccountName ? { serviceAccountName: pod.serviceAccountName } : {}),
      terminationGracePeriodSeconds: pod.terminationGracePeriodSeconds ?? DEFAULTS.terminationGracePeriodSeconds,
      ...(pod.tolerations ? { tolerations: pod.tolerations } : {}),
      ...(pod.topologySpreadConstraints ? { topologySpreadConstraints: pod.topologySpreadConstraints } : {}),
      volumes: volumes(cluster, spec, configFilesHash, tls),
    },
  };
}
