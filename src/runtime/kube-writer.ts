/**
 * Every write the operator makes to Kubernetes. Objects it owns go through server-side apply
 * under one field manager, so fields set by users or other controllers (an admission webhook,
 * `kubectl annotate`) are left alone and conflicts over the operator's own fields are resolved
 * in its favour. Pods are deleted only with a uid precondition, so a restart never hits the
 * pod's successor.
 */
import {
  type AppsV1Api,
  type CoreV1Api,
  type CustomObjectsApi,
  type KubernetesObject,
  PatchStrategy,
  type PolicyV1Api,
  setHeaderOptions,
  type V1ConfigMap,
  type V1OwnerReference,
  type V1PodDisruptionBudget,
  type V1Service,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import { API_GROUP, API_GROUP_VERSION, API_VERSION, KIND, OPERATOR_NAME, PLURAL } from '../api/constants.js';
import type { ZooKeeperClusterStatus } from '../api/types.js';
import { generateSuperPassword, superDigest } from '../zookeeper/super-digest.js';
import { classifyKubeError } from './kube-errors.js';

export interface ApiClients {
  core: CoreV1Api;
  apps: AppsV1Api;
  policy: PolicyV1Api;
  custom: CustomObjectsApi;
}

/** The kinds the operator applies. */
export type OwnedObject = V1ConfigMap | V1Service | V1StatefulSet | V1PodDisruptionBudget;

const applyOptions = () => setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);

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
      default:
        throw new Error(`the operator does not apply objects of kind ${(object as KubernetesObject).kind}`);
    }
  }

  /**
   * The cluster's super-user password, from its Secret; created (with the digest the members'
   * JVM flag needs) when missing. Never rotated: members hold the digest until they restart.
   */
  async superUserPassword(namespace: string, name: string, owner: V1OwnerReference): Promise<string> {
    // Never rotated, so one read per cluster incarnation (owner uid) is enough: not one per reconcile.
    const key = `${owner.uid}/${namespace}/${name}`;
    const known = this.superUserPasswords.get(key);
    if (known !== undefined) return known;
    const password = await this.readOrCreateSuperUserPassword(namespace, name, owner);
    this.superUserPasswords.set(key, password);
    return password;
  }

  private async readOrCreateSuperUserPassword(
    namespace: string,
    name: string,
    owner: V1OwnerReference,
  ): Promise<string> {
    const read = async () => {
      const secret = await this.clients.core.readNamespacedSecret({ namespace, name });
      const password = secret.data?.password;
      if (password === undefined) throw new Error(`Secret ${namespace}/${name} has no "password" key`);
      return Buffer.from(password, 'base64').toString('utf8');
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
      return password;
    } catch (error) {
      // Another reconcile created it first: use that one.
      if (classifyKubeError(error).kind !== 'alreadyExists') throw error;
      return read();
    }
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

  async deletePod(namespace: string, name: string, uid: string): Promise<void> {
    await this.clients.core.deleteNamespacedPod({ namespace, name, body: { preconditions: { uid } } });
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
