/**
 * The two Secrets of a cluster's certificates, rendered from PEM text:
 * - `NAME-ca`: the cluster CA's certificate (`ca.crt`) and, when the CA is the operator's own, its
 *   PKCS#8 private key (`ca.key`); during a CA rollover the previous CA's certificate
 *   (`previous-ca.crt`). Only the operator reads it; no pod mounts it.
 * - `NAME-tls`: what the members will mount: the CA bundle they trust (`ca.crt`: the current CA,
 *   and the previous one while a rollover overlaps) and, per member pod, `<pod>.pem`: its PKCS#8
 *   private key followed by its certificate and the CA's, the single-file PEM key store
 *   ZooKeeper reads (`ssl.keyStore.type=PEM`).
 * Both are owned by the cluster (deleted with it) and labelled component `tls`, the label the
 * operator's Secret informer selects (`TLS_SECRET_SELECTOR`): it never caches any other Secret.
 */
import type { V1Secret } from '@kubernetes/client-node';
import { ANNOTATION_PREFIX, OPERATOR_NAME } from '../api/constants.js';
import type { ZooKeeperCluster } from '../api/types.js';
import { ownerReference } from './cluster.js';
import { type ClusterRef, clientServiceHost, commonLabels, memberHost, objectNames, podOfServerId } from './names.js';

export const CA_CERTIFICATE_KEY = 'ca.crt';
export const CA_PRIVATE_KEY_KEY = 'ca.key';
export const PREVIOUS_CA_CERTIFICATE_KEY = 'previous-ca.crt';
/**
 * On `NAME-ca`: when its current CA entered the members' bundle. Members move to certificates of
 * a new CA only once they have trusted it long enough, and a CA of the user's may have been
 * issued long before it was put in use.
 */
export const CA_IN_USE_SINCE_ANNOTATION = `${ANNOTATION_PREFIX}/ca-in-use-since`;
/** In `NAME-tls`: the CAs members trust. */
export const TRUST_BUNDLE_KEY = 'ca.crt';
/** In `NAME-tls`: a member's key store. */
export const memberKeyStoreKey = (pod: string): string => `${pod}.pem`;
/** The pod a key of `NAME-tls` is the key store of, if it is one. */
export const podOfKeyStoreKey = (key: string): string | undefined => /^(.+)\.pem$/.exec(key)?.[1];

/** The label selector of the operator's Secret informer: its certificate Secrets and nothing else. */
export const TLS_SECRET_SELECTOR = `app.kubernetes.io/managed-by=${OPERATOR_NAME},app.kubernetes.io/component=tls`;

/**
 * The names a member's certificate holds: its own name under the headless Service, the headless
 * Service, and the client Service, each fully qualified and in the shorter forms a client inside
 * the namespace or the cluster may use. Sorted.
 */
export function memberDnsNames(cluster: ClusterRef, myid: number, clusterDomain: string): string[] {
  const { headlessService, clientService } = objectNames(cluster);
  const inNamespace = (host: string) => [
    `${host}.${cluster.namespace}.svc.${clusterDomain}`,
    `${host}.${cluster.namespace}.svc`,
  ];
  const client = clientServiceHost(cluster, clusterDomain);
  return [
    memberHost(cluster, myid, clusterDomain),
    `${podOfServerId(cluster, myid)}.${headlessService}.${cluster.namespace}.svc`,
    ...inNamespace(headlessService),
    client,
    `${clientService}.${cluster.namespace}.svc`,
    `${clientService}.${cluster.namespace}`,
    clientService,
  ].sort();
}

/** The common name of the cluster CA: names the cluster, so a person reading a chain knows whose it is. */
export const caCommonName = (cluster: ClusterRef): string =>
  `${OPERATOR_NAME} CA for ${cluster.namespace}/${cluster.name}`;

export interface CaSecretContent {
  certificatePem: string;
  /** Only the operator's own CA: a user's or cert-manager's CA keeps its key in its own Secret. */
  privateKeyPem?: string | undefined;
  previousCertificatePem?: string | undefined;
  /** Since when the current CA is in the members' bundle (`CA_IN_USE_SINCE_ANNOTATION`). */
  since: Date;
}

export function renderCaSecret(
  cluster: ZooKeeperCluster,
  content: CaSecretContent,
  resourceVersion?: string,
): V1Secret {
  const annotations = { [CA_IN_USE_SINCE_ANNOTATION]: content.since.toISOString() };
  return secret(cluster, objectNames(cluster.metadata).caSecret, resourceVersion, annotations, {
    [CA_CERTIFICATE_KEY]: content.certificatePem,
    ...(content.privateKeyPem === undefined ? {} : { [CA_PRIVATE_KEY_KEY]: content.privateKeyPem }),
    ...(content.previousCertificatePem === undefined
      ? {}
      : { [PREVIOUS_CA_CERTIFICATE_KEY]: content.previousCertificatePem }),
  });
}

/** `keyStores` maps each member pod to its key store PEM (key, certificate, CA certificate). */
export function renderTlsSecret(
  cluster: ZooKeeperCluster,
  trustBundlePem: string,
  keyStores: ReadonlyMap<string, string>,
  resourceVersion?: string,
): V1Secret {
  const entries = [...keyStores].sort(([a], [b]) => a.localeCompare(b));
  return secret(
    cluster,
    objectNames(cluster.metadata).tlsSecret,
    resourceVersion,
    {},
    {
      [TRUST_BUNDLE_KEY]: trustBundlePem,
      ...Object.fromEntries(entries.map(([pod, pem]) => [memberKeyStoreKey(pod), pem])),
    },
  );
}

function secret(
  cluster: ZooKeeperCluster,
  name: string,
  resourceVersion: string | undefined,
  annotations: Record<string, string>,
  content: Record<string, string>,
): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace: cluster.metadata.namespace,
      labels: commonLabels(cluster.metadata, 'tls'),
      ...(Object.keys(annotations).length === 0 ? {} : { annotations }),
      ownerReferences: [ownerReference(cluster)],
      ...(resourceVersion === undefined ? {} : { resourceVersion }),
    },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(content).map(([key, text]) => [key, Buffer.from(text).toString('base64')])),
  };
}

/** The text under `key` of a Secret as the API returns it (base64 `data`), if present. */
export function secretText(secret: V1Secret | undefined, key: string): string | undefined {
  const value = secret?.data?.[key];
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
}
