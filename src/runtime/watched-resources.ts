/**
 * The resources the operator watches, as `WatchedResource`s for the informer: the
 * collection path (per namespace, or for all) and the matching typed LIST call.
 */
import type {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesListObject,
  KubernetesObject,
  NetworkingV1Api,
  PolicyV1Api,
  V1ConfigMap,
  V1NetworkPolicy,
  V1PersistentVolumeClaim,
  V1Pod,
  V1PodDisruptionBudget,
  V1Service,
  V1StatefulSet,
} from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, PLURAL } from '../api/constants.js';
import type { ZooKeeperCluster } from '../api/types.js';
import type { NetworkPolicyObject } from '../render/network-policy.js';
import type { ListScope, WatchedResource } from './informer.js';

const collection = (prefix: string, plural: string) => (namespace: string | undefined) =>
  namespace === undefined ? `${prefix}/${plural}` : `${prefix}/namespaces/${namespace}/${plural}`;

/** The selector fields of a scope, without the ones that are unset. */
const selectors = (scope: ListScope) => ({
  ...(scope.labelSelector === undefined ? {} : { labelSelector: scope.labelSelector }),
  ...(scope.fieldSelector === undefined ? {} : { fieldSelector: scope.fieldSelector }),
});

export function zooKeeperClusters(custom: CustomObjectsApi): WatchedResource<ZooKeeperCluster & KubernetesObject> {
  const group = { group: API_GROUP, version: API_VERSION, plural: PLURAL };
  return {
    name: `${PLURAL}.${API_GROUP}`,
    path: collection(`/apis/${API_GROUP}/${API_VERSION}`, PLURAL),
    list: async (scope) =>
      (await (scope.namespace === undefined
        ? custom.listClusterCustomObject({ ...group, ...selectors(scope) })
        : custom.listNamespacedCustomObject({
            ...group,
            namespace: scope.namespace,
            ...selectors(scope),
          }))) as KubernetesListObject<ZooKeeperCluster & KubernetesObject>,
  };
}

export function statefulSets(apps: AppsV1Api): WatchedResource<V1StatefulSet> {
  return {
    name: 'statefulsets.apps',
    path: collection('/apis/apps/v1', 'statefulsets'),
    list: (scope) =>
      scope.namespace === undefined
        ? apps.listStatefulSetForAllNamespaces(selectors(scope))
        : apps.listNamespacedStatefulSet({ namespace: scope.namespace, ...selectors(scope) }),
  };
}

export function pods(core: CoreV1Api): WatchedResource<V1Pod> {
  return {
    name: 'pods',
    path: collection('/api/v1', 'pods'),
    list: (scope) =>
      scope.namespace === undefined
        ? core.listPodForAllNamespaces(selectors(scope))
        : core.listNamespacedPod({ namespace: scope.namespace, ...selectors(scope) }),
  };
}

export function services(core: CoreV1Api): WatchedResource<V1Service> {
  return {
    name: 'services',
    path: collection('/api/v1', 'services'),
    list: (scope) =>
      scope.namespace === undefined
        ? core.listServiceForAllNamespaces(selectors(scope))
        : core.listNamespacedService({ namespace: scope.namespace, ...selectors(scope) }),
  };
}

export function configMaps(core: CoreV1Api): WatchedResource<V1ConfigMap> {
  return {
    name: 'configmaps',
    path: collection('/api/v1', 'configmaps'),
    list: (scope) =>
      scope.namespace === undefined
        ? core.listConfigMapForAllNamespaces(selectors(scope))
        : core.listNamespacedConfigMap({ namespace: scope.namespace, ...selectors(scope) }),
  };
}

export function podDisruptionBudgets(policy: PolicyV1Api): WatchedResource<V1PodDisruptionBudget> {
  return {
    name: 'poddisruptionbudgets.policy',
    path: collection('/apis/policy/v1', 'poddisruptionbudgets'),
    list: (scope) =>
      scope.namespace === undefined
        ? policy.listPodDisruptionBudgetForAllNamespaces(selectors(scope))
        : policy.listNamespacedPodDisruptionBudget({ namespace: scope.namespace, ...selectors(scope) }),
  };
}

export function persistentVolumeClaims(core: CoreV1Api): WatchedResource<V1PersistentVolumeClaim> {
  return {
    name: 'persistentvolumeclaims',
    path: collection('/api/v1', 'persistentvolumeclaims'),
    list: (scope) =>
      scope.namespace === undefined
        ? core.listPersistentVolumeClaimForAllNamespaces(selectors(scope))
        : core.listNamespacedPersistentVolumeClaim({ namespace: scope.namespace, ...selectors(scope) }),
  };
}

/**
 * NetworkPolicies as the API sends them: a typed LIST names an ingress rule's `from` `_from`
 * (client-node's model), watch events do not; the cache must hold one spelling, the API's.
 */
export function networkPolicies(networking: NetworkingV1Api): WatchedResource<NetworkPolicyObject> {
  return {
    name: 'networkpolicies.networking.k8s.io',
    path: collection('/apis/networking.k8s.io/v1', 'networkpolicies'),
    list: async (scope) => {
      const list =
        scope.namespace === undefined
          ? await networking.listNetworkPolicyForAllNamespaces(selectors(scope))
          : await networking.listNamespacedNetworkPolicy({ namespace: scope.namespace, ...selectors(scope) });
      return { ...list, items: list.items.map(withApiFieldNames) };
    },
  };
}

function withApiFieldNames(policy: V1NetworkPolicy): NetworkPolicyObject {
  const { spec } = policy;
  if (spec?.ingress === undefined) return policy as NetworkPolicyObject;
  const ingress = spec.ingress.map(({ _from, ...rule }) => (_from === undefined ? rule : { ...rule, from: _from }));
  return { ...policy, spec: { ...spec, ingress } };
}
