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
  type V1PodDisruptionBudget,
  type V1Service,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import { API_GROUP, API_GROUP_VERSION, API_VERSION, KIND, OPERATOR_NAME, PLURAL } from '../api/constants.js';
import type { ZooKeeperClusterStatus } from '../api/types.js';

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
