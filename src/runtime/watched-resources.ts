/**
 * The resources the operator watches, as `WatchedResource`s for the informer: the
 * collection path (per namespace, or for all) and the matching typed LIST call.
 *
 * Contract: a listed object has the shape a watch event gives the same object, because the
 * cache holds both and readers cannot tell them apart. Two things differ otherwise:
 * - The API server sends a LIST's items of built-in kinds without `apiVersion` and `kind`
 *   (the list carries them once); each item gets them back here (custom resources' items
 *   carry both). Without them every listed child looked
 *   changed to the no-op check (`object-diff.ts`), and since a server-side apply that
 *   changes nothing produces no watch event, the cache never learnt otherwise: after a
 *   (re)start or relist the operator re-applied every child on every reconcile.
 * - client-node's typed model renames a NetworkPolicy ingress rule's `from` to `_from`.
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
  V1Secret,
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

type Selectors = ReturnType<typeof selectors>;

/** A built-in kind: its API version, kind and plural, and its typed LIST calls (all namespaces, or one). */
interface TypedKind<T extends KubernetesObject> {
  apiVersion: string;
  kind: string;
  plural: string;
  listAll(selectors: Selectors): Promise<KubernetesListObject<T>>;
  listIn(namespace: string, selectors: Selectors): Promise<KubernetesListObject<T>>;
}

/**
 * A built-in kind as a `WatchedResource`, named `plural.group` like RBAC and kubectl name it.
 * Each listed item gets its `apiVersion` and `kind` back, set in place: the list was decoded
 * for this call alone.
 */
function typedResource<T extends KubernetesObject>(type: TypedKind<T>): WatchedResource<T> {
  const slash = type.apiVersion.indexOf('/');
  const group = slash === -1 ? '' : type.apiVersion.slice(0, slash);
  return {
    name: group === '' ? type.plural : `${type.plural}.${group}`,
    path: collection(group === '' ? `/api/${type.apiVersion}` : `/apis/${type.apiVersion}`, type.plural),
    list: async (scope) => {
      const list =
        scope.namespace === undefined
          ? await type.listAll(selectors(scope))
          : await type.listIn(scope.namespace, selectors(scope));
      for (const item of list.items) {
        item.apiVersion = type.apiVersion;
        item.kind = type.kind;
      }
      return list;
    },
  };
}

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
  return typedResource({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    plural: 'statefulsets',
    listAll: (selected) => apps.listStatefulSetForAllNamespaces(selected),
    listIn: (namespace, selected) => apps.listNamespacedStatefulSet({ namespace, ...selected }),
  });
}

export function pods(core: CoreV1Api): WatchedResource<V1Pod> {
  return typedResource({
    apiVersion: 'v1',
    kind: 'Pod',
    plural: 'pods',
    listAll: (selected) => core.listPodForAllNamespaces(selected),
    listIn: (namespace, selected) => core.listNamespacedPod({ namespace, ...selected }),
  });
}

export function services(core: CoreV1Api): WatchedResource<V1Service> {
  return typedResource({
    apiVersion: 'v1',
    kind: 'Service',
    plural: 'services',
    listAll: (selected) => core.listServiceForAllNamespaces(selected),
    listIn: (namespace, selected) => core.listNamespacedService({ namespace, ...selected }),
  });
}

export function configMaps(core: CoreV1Api): WatchedResource<V1ConfigMap> {
  return typedResource({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    plural: 'configmaps',
    listAll: (selected) => core.listConfigMapForAllNamespaces(selected),
    listIn: (namespace, selected) => core.listNamespacedConfigMap({ namespace, ...selected }),
  });
}

export function podDisruptionBudgets(policy: PolicyV1Api): WatchedResource<V1PodDisruptionBudget> {
  return typedResource({
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    plural: 'poddisruptionbudgets',
    listAll: (selected) => policy.listPodDisruptionBudgetForAllNamespaces(selected),
    listIn: (namespace, selected) => policy.listNamespacedPodDisruptionBudget({ namespace, ...selected }),
  });
}

/**
 * Secrets: started with the certificate Secrets' label selector only (`TLS_SECRET_SELECTOR`), so
 * the cache never holds another Secret (not even the super-user one).
 */
export function secrets(core: CoreV1Api): WatchedResource<V1Secret> {
  return typedResource({
    apiVersion: 'v1',
    kind: 'Secret',
    plural: 'secrets',
    listAll: (selected) => core.listSecretForAllNamespaces(selected),
    listIn: (namespace, selected) => core.listNamespacedSecret({ namespace, ...selected }),
  });
}

export function persistentVolumeClaims(core: CoreV1Api): WatchedResource<V1PersistentVolumeClaim> {
  return typedResource({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    plural: 'persistentvolumeclaims',
    listAll: (selected) => core.listPersistentVolumeClaimForAllNamespaces(selected),
    listIn: (namespace, selected) => core.listNamespacedPersistentVolumeClaim({ namespace, ...selected }),
  });
}

/**
 * NetworkPolicies as the API sends them: a typed LIST names an ingress rule's `from` `_from`
 * (client-node's model), watch events do not; the cache must hold one spelling, the API's.
 */
export function networkPolicies(networking: NetworkingV1Api): WatchedResource<NetworkPolicyObject> {
  const spelt = (list: KubernetesListObject<V1NetworkPolicy>): KubernetesListObject<NetworkPolicyObject> => ({
    ...list,
    items: list.items.map(withApiFieldNames),
  });
  return typedResource({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    plural: 'networkpolicies',
    listAll: async (selected) => spelt(await networking.listNetworkPolicyForAllNamespaces(selected)),
    listIn: async (namespace, selected) =>
      spelt(await networking.listNamespacedNetworkPolicy({ namespace, ...selected })),
  });
}

function withApiFieldNames(policy: V1NetworkPolicy): NetworkPolicyObject {
  const { spec } = policy;
  if (spec?.ingress === undefined) return policy as NetworkPolicyObject;
  const ingress = spec.ingress.map(({ _from, ...rule }) => (_from === undefined ? rule : { ...rule, from: _from }));
  return { ...policy, spec: { ...spec, ingress } };
}
