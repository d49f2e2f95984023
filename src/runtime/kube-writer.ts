/**
 * Every write the operator makes to Kubernetes. Objects it owns go through server-side apply
 * under one field manager, so fields set by users or other controllers (an admission webhook,
 * `kubectl annotate`) are left alone and conflicts over the operator's own fields are resolved
 * in its favour. Member pods are restarted only through the Eviction API, with a uid
 * precondition: the cluster's PodDisruptionBudget decides, as it does for a node drain, and the
 * pod's successor is never hit. The only Secrets it uses are ones it created itself, with the
 * cluster as owner: the super-user Secret, and the certificate Secrets, which it writes whole
 * (created, or replaced at the resourceVersion it read).
 */
import {
  type AppsV1Api,
  type CoreV1Api,
  type CustomObjectsApi,
  type KubernetesObject,
  type NetworkingV1Api,
  Observable,
  PatchStrategy,
  type PolicyV1Api,
  type RequestContext,
  ResponseContext,
  setHeaderOptions,
  type V1ConfigMap,
  type V1OwnerReference,
  type V1PodDisruptionBudget,
  type V1Secret,
  type V1Service,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import { API_GROUP, API_GROUP_VERSION, API_VERSION, KIND, OPERATOR_NAME, PLURAL } from '../api/constants.js';
import type { ZooKeeperClusterStatus } from '../api/types.js';
import type { EvictionOutcome } from '../controller/rolling-restart.js';
import {
  type CaCertificate,
  CERT_MANAGER_GROUP,
  CERT_MANAGER_VERSION,
  CERTIFICATE_PLURAL,
} from '../render/cert-manager.js';
import type { NetworkPolicyObject } from '../render/network-policy.js';
import { generateSuperPassword, superDigest } from '../zookeeper/super-digest.js';
import { classifyKubeError } from './kube-errors.js';

export interface ApiClients {
  core: CoreV1Api;
  apps: AppsV1Api;
  policy: PolicyV1Api;
  networking: NetworkingV1Api;
  custom: CustomObjectsApi;
}

/** The kinds the operator applies. */
export type OwnedObject = V1ConfigMap | V1Service | V1StatefulSet | V1PodDisruptionBudget | NetworkPolicyObject;

/**
 * The cluster's super-user Secret as found: one the cluster owns gives the password; a Secret of
 * that name without the cluster's owner reference (planted before the cluster existed, or left by
 * an earlier cluster of the same name) is never used, since its password would decide who is
 * ZooKeeper's super user.
 */
export type SuperUserSecret =
  | { kind: 'owned'; password: string }
  | { kind: 'notOwned'; ownerReferences: V1OwnerReference[] };

const applyOptions = () => setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);

/**
 * Request options that keep the response's text in `into.text`. client-node reads an eviction's
 * answer as an Eviction object, which drops everything a `Status` says: a refusal the API server
 * sends with a 2xx code (more than one budget) would look like success.
 */
function keepingResponseText(into: { text?: string }) {
  return {
    middleware: [
      {
        pre: (request: RequestContext) => new Observable(Promise.resolve(request)),
        post: (response: ResponseContext) =>
          new Observable(
            response.body.text().then((text) => {
              into.text = text;
              return new ResponseContext(response.httpStatusCode, response.headers, {
                text: async () => text,
                binary: async () => Buffer.from(text),
                stream: () => new Blob([text]).stream(),
              });
            }),
          ),
      },
    ],
    middlewareMergeStrategy: 'append' as const,
  };
}

/** The parts of a Kubernetes `Status` an eviction's answer is judged by. */
interface EvictionStatus {
  kind?: string;
  status?: string;
  code?: number;
  message?: string;
  details?: { kind?: string; causes?: { reason?: string; message?: string }[] };
}

function parseStatus(text: string | undefined): EvictionStatus | undefined {
  if (text === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null ? (parsed as EvictionStatus) : undefined;
  } catch {
    // Not JSON (a proxy's error page): no Status to judge by.
    return undefined;
  }
}

/** The body of a failed call, as client-node's ApiException carries it. */
const errorStatus = (error: unknown): EvictionStatus | undefined => {
  const body = typeof error === 'object' && error !== null ? (error as { body?: unknown }).body : undefined;
  if (typeof body === 'string') return parseStatus(body);
  return typeof body === 'object' && body !== null ? (body as EvictionStatus) : undefined;
};

/** The budget's own words from a refusal: its `DisruptionBudget` causes, else the Status message. */
function budgetDetail(status: EvictionStatus | undefined, fallback: string): string {
  const causes = (status?.details?.causes ?? []).filter(
    (cause) => cause.reason === 'DisruptionBudget' && cause.message,
  );
  return causes.length > 0 ? causes.map((cause) => cause.message).join('; ') : (status?.message ?? fallback);
}

export class KubeWriter {
  private readonly superUserPasswords = new Map<string, string>();

  constructor(private readonly clients: ApiClients) {}

  async apply(object: OwnedObject): Promise<void> {
    const name = object.metadata?.name;
    const namespace = object.metadata?.namespace;
    if (!name || !namespace) throw new Error(`cannot apply a ${object.kind} without a name and namespace`);
    const request = { name, namespace, fieldManager: OPERATOR_NAME, force: true };
    switch (object.kind) {
      case 'ConfigMap':
        await this.clients.core.patchNamespacedConfigMap({ ...request, body: object }, applyOptions());
        return;
      case 'Service':
        await this.clients.core.patchNamespacedService({ ...request, body: object }, applyOptions());
        return;
      case 'StatefulSet':
        await this.clients.apps.patchNamespacedStatefulSet({ ...request, body: object }, applyOptions());
        return;
      case 'PodDisruptionBudget':
        await this.clients.policy.patchNamespacedPodDisruptionBudget({ ...request, body: object }, applyOptions());
        return;
      case 'NetworkPolicy':
        await this.clients.networking.patchNamespacedNetworkPolicy({ ...request, body: object }, applyOptions());
        return;
      default:
        throw new Error(`the operator does not apply objects of kind ${(object as KubernetesObject).kind}`);
    }
  }

  /**
   * The cluster's super-user Secret: created (with the password and the digest the members' JVM
   * flag needs, owned by the cluster) when missing; read when it exists and the cluster owns it;
   * reported, never read for use, when it exists without the cluster's owner reference. Never
   * rotated: members hold the digest until they restart.
   */
  async superUserSecret(namespace: string, name: string, owner: V1OwnerReference): Promise<SuperUserSecret> {
    // Never rotated, so one read per cluster incarnation (owner uid) is enough: not one per reconcile.
    const key = `${owner.uid}/${namespace}/${name}`;
    const known = this.superUserPasswords.get(key);
    if (known !== undefined) return { kind: 'owned', password: known };
    const secret = await this.readOrCreateSuperUserSecret(namespace, name, owner);
    if (secret.kind === 'owned') this.superUserPasswords.set(key, secret.password);
    return secret;
  }

  private async readOrCreateSuperUserSecret(
    namespace: string,
    name: string,
    owner: V1OwnerReference,
  ): Promise<SuperUserSecret> {
    const read = async (): Promise<SuperUserSecret> => {
      const secret = await this.clients.core.readNamespacedSecret({ namespace, name });
      const ownerReferences = secret.metadata?.ownerReferences ?? [];
      // The uid is the cluster's incarnation: nobody could name it before the cluster existed. And
      // where OwnerReferencesPermissionEnforcement runs, only who may update the cluster's
      // finalizers can set blockOwnerDeletion, as the operator does.
      const ours = (reference: V1OwnerReference) =>
        reference.uid === owner.uid && reference.controller === true && reference.blockOwnerDeletion === true;
      if (!ownerReferences.some(ours)) {
        return { kind: 'notOwned', ownerReferences };
      }
      const password = secret.data?.password;
      if (password === undefined) throw new Error(`Secret ${namespace}/${name} has no "password" key`);
      return { kind: 'owned', password: Buffer.from(password, 'base64').toString('utf8') };
    };
    try {
      return await read();
    } catch (error) {
      if (classifyKubeError(error).kind !== 'notFound') throw error;
    }
    const password = generateSuperPassword();
    try {
      await this.clients.core.createNamespacedSecret({
        namespace,
        body: {
          metadata: {
            name,
            namespace,
            labels: { 'app.kubernetes.io/managed-by': OPERATOR_NAME },
            ownerReferences: [owner],
          },
          type: 'Opaque',
          stringData: { password, digest: superDigest(password) },
        },
      });
      return { kind: 'owned', password };
    } catch (error) {
      // Created in between (by another reconcile, or by someone else): judge that one.
      if (classifyKubeError(error).kind !== 'alreadyExists') throw error;
      return read();
    }
  }

  /** Reads a Secret by name; undefined when there is none. */
  async readSecret(namespace: string, name: string): Promise<V1Secret | undefined> {
    try {
      return await this.clients.core.readNamespacedSecret({ namespace, name });
    } catch (error) {
      if (classifyKubeError(error).kind === 'notFound') return undefined;
      throw error;
    }
  }

  /** Creates a certificate Secret; fails with 409 when one of that name exists. */
  async createSecret(secret: V1Secret): Promise<void> {
    const namespace = secret.metadata?.namespace;
    if (!namespace) throw new Error(`cannot create Secret ${secret.metadata?.name} without a namespace`);
    await this.clients.core.createNamespacedSecret({ namespace, body: secret });
  }

  /** Replaces a certificate Secret, only if it still has the resourceVersion `secret` carries (else 409). */
  async replaceSecret(secret: V1Secret): Promise<void> {
    const name = secret.metadata?.name;
    const namespace = secret.metadata?.namespace;
    if (!name || !namespace || !secret.metadata?.resourceVersion) {
      throw new Error(`cannot replace Secret ${name} without a name, namespace and resourceVersion`);
    }
    await this.clients.core.replaceNamespacedSecret({ name, namespace, body: secret });
  }

  /** Deletes the cluster's NetworkPolicy (turned off in the spec), only if it still has this uid. */
  async deleteNetworkPolicy(namespace: string, name: string, uid: string): Promise<void> {
    await this.clients.networking.deleteNamespacedNetworkPolicy({ namespace, name, body: { preconditions: { uid } } });
  }

  async deleteClaim(namespace: string, name: string): Promise<void> {
    await this.clients.core.deleteNamespacedPersistentVolumeClaim({ namespace, name });
  }

  /** Marks the retained claim of a removed member with the config version it left in. */
  async markClaim(namespace: string, name: string, annotation: string, version: string): Promise<void> {
    await this.clients.core.patchNamespacedPersistentVolumeClaim(
      { namespace, name, body: { metadata: { annotations: { [annotation]: version } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  /** Annotates a member pod, only if it still has this uid (a uid in the patch is a precondition). */
  async annotatePod(namespace: string, name: string, uid: string, annotation: string, value: string): Promise<void> {
    await this.clients.core.patchNamespacedPod(
      { namespace, name, body: { metadata: { uid, annotations: { [annotation]: value } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  /** Raises a claim's storage request; the storage driver grows the volume. */
  async resizeClaim(namespace: string, name: string, size: string): Promise<void> {
    await this.clients.core.patchNamespacedPersistentVolumeClaim(
      { namespace, name, body: { spec: { resources: { requests: { storage: size } } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  /**
   * Deletes a StatefulSet (only if it still has this uid) and nothing else: the garbage
   * collector orphans its pods, claims and revisions, and the StatefulSet created in its place
   * adopts them.
   */
  async deleteStatefulSetKeepingPods(namespace: string, name: string, uid: string): Promise<void> {
    await this.clients.apps.deleteNamespacedStatefulSet({
      namespace,
      name,
      body: { preconditions: { uid }, propagationPolicy: 'Orphan' },
    });
  }

  /**
   * Restarts a member by evicting its pod, only if the pod still has this uid. The cluster's
   * PodDisruptionBudget arbitrates, as it does between the evictions of a node drain. Its
   * refusals are answers, not errors: the budget exhausted (429, or the budget's own 403s),
   * the pod gone (404) or replaced (409), more than one budget. Anything else is thrown. A
   * refused eviction is never followed by a deletion. (The API server checks the uid only after
   * the budget counted the eviction, so a 409 holds the budget until the disruption controller
   * gives up on it, 2 minutes later; it happens only when the cache lags behind a replacement.)
   */
  async evictPod(namespace: string, name: string, uid: string): Promise<EvictionOutcome> {
    const response: { text?: string } = {};
    try {
      await this.clients.core.createNamespacedPodEviction(
        {
          namespace,
          name,
          body: {
            apiVersion: 'policy/v1',
            kind: 'Eviction',
            metadata: { name, namespace },
            deleteOptions: { preconditions: { uid } },
          },
        },
        keepingResponseText(response),
      );
    } catch (error) {
      const classified = classifyKubeError(error);
      const status = errorStatus(error);
      const fromBudget = status?.details?.causes?.some((cause) => cause.reason === 'DisruptionBudget') ?? false;
      // A 429 without the budget's cause is the API server's own throttling: retried with back-off.
      if (classified.status === 429 && fromBudget) {
        return { kind: 'budgetRefused', detail: budgetDetail(status, classified.message) };
      }
      // The budget's status is broken (negative, or too many evictions it has not seen through):
      // a 403 about the budget, not about the operator's rights.
      if (classified.kind === 'forbidden' && status?.details?.kind === 'poddisruptionbudget') {
        return { kind: 'budgetRefused', detail: budgetDetail(status, classified.message) };
      }
      if (classified.kind === 'notFound') return { kind: 'gone' };
      if (classified.kind === 'conflict') return { kind: 'replaced' };
      throw error;
    }
    const answer = parseStatus(response.text);
    if (answer?.kind === 'Status' && answer.status === 'Failure') {
      if (answer.message?.includes('more than one PodDisruptionBudget')) return { kind: 'multipleBudgets' };
      throw new Error(`evicting pod ${namespace}/${name}: the API server answered ${answer.code}: ${answer.message}`);
    }
    return { kind: 'evicted' };
  }

  /** A cert-manager Certificate; undefined when there is none, or cert-manager's API is not installed. */
  async readCertificate(namespace: string, name: string): Promise<object | undefined> {
    try {
      return (await this.clients.custom.getNamespacedCustomObject({
        group: CERT_MANAGER_GROUP,
        version: CERT_MANAGER_VERSION,
        plural: CERTIFICATE_PLURAL,
        namespace,
        name,
      })) as object;
    } catch (error) {
      if (classifyKubeError(error).kind === 'notFound') return undefined;
      throw error;
    }
  }

  /** Applies a cert-manager Certificate (server-side apply: created when missing). */
  async applyCertificate(certificate: CaCertificate): Promise<void> {
    const { name, namespace } = certificate.metadata;
    await this.clients.custom.patchNamespacedCustomObject(
      {
        group: CERT_MANAGER_GROUP,
        version: CERT_MANAGER_VERSION,
        plural: CERTIFICATE_PLURAL,
        namespace,
        name,
        fieldManager: OPERATOR_NAME,
        force: true,
        body: certificate,
      },
      applyOptions(),
    );
  }

  /** Applies the whole status the operator owns; fields it no longer sets are removed. */
  async applyClusterStatus(namespace: string, name: string, status: ZooKeeperClusterStatus): Promise<void> {
    await this.clients.custom.patchNamespacedCustomObjectStatus(
      {
        group: API_GROUP,
        version: API_VERSION,
        plural: PLURAL,
        namespace,
        name,
        fieldManager: OPERATOR_NAME,
        force: true,
        body: { apiVersion: API_GROUP_VERSION, kind: KIND, metadata: { name, namespace }, status },
      },
      applyOptions(),
    );
  }
}
