/**
 * What the informers' LISTs put in the cache: objects shaped as the API sends them one by one,
 * like the watch events that follow (nock). The LIST bodies are the real API server's
 * (`test/unit/controller/api-server-objects`): items without `apiVersion` and `kind`.
 */
import { AppsV1Api, CoreV1Api, NetworkingV1Api, PolicyV1Api } from '@kubernetes/client-node';
import test from 'ava';
import nock from 'nock';
import { firstDifference } from '../../../src/controller/object-diff.js';
import { renderCluster } from '../../../src/render/cluster.js';
import { makeObservedApiClient } from '../../../src/runtime/api-client.js';
import type { ListScope, WatchedResource } from '../../../src/runtime/informer.js';
import {
  configMaps,
  networkPolicies,
  persistentVolumeClaims,
  podDisruptionBudgets,
  pods,
  services,
  statefulSets,
} from '../../../src/runtime/watched-resources.js';
import { aCluster } from '../../support/builders.js';
import { fakeKubeConfig } from '../../support/fake-kubeconfig.js';
import configMap from '../controller/api-server-objects/configmap.json' with { type: 'json' };
import networkPolicy from '../controller/api-server-objects/networkpolicy.json' with { type: 'json' };
import podDisruptionBudget from '../controller/api-server-objects/poddisruptionbudget.json' with { type: 'json' };
import headlessService from '../controller/api-server-objects/service-headless.json' with { type: 'json' };
import statefulSet from '../controller/api-server-objects/statefulset.json' with { type: 'json' };

const SERVER = 'http://kube.test';

test.before(() => nock.disableNetConnect());
test.afterEach.always(() => nock.cleanAll());

const kubeConfig = fakeKubeConfig(SERVER);
const core = makeObservedApiClient(kubeConfig, CoreV1Api, {});
const apps = makeObservedApiClient(kubeConfig, AppsV1Api, {});
const policy = makeObservedApiClient(kubeConfig, PolicyV1Api, {});
const networking = makeObservedApiClient(kubeConfig, NetworkingV1Api, {});

const inNamespace: ListScope = { namespace: 'zk-diff', labelSelector: undefined, fieldSelector: undefined };

/** A LIST answer as kube-apiserver gives it: apiVersion and kind on the list, not on its items. */
const listBody = (apiVersion: string, kind: string, items: object[]) => ({
  apiVersion,
  kind: `${kind}List`,
  metadata: { resourceVersion: '100' },
  items,
});

const aMemberPod = { metadata: { name: 'zk-0', namespace: 'zk-diff', resourceVersion: '7' }, spec: { containers: [] } };
const aMemberClaim = { metadata: { name: 'data-zk-0', namespace: 'zk-diff', resourceVersion: '8' }, spec: {} };

const cases: {
  resource: WatchedResource<{ apiVersion?: string; kind?: string }>;
  path: string;
  apiVersion: string;
  kind: string;
  item: object;
  /** What the operator applied, when the item is a captured child: the listed one must satisfy it. */
  desired?: object;
}[] = [
  {
    resource: configMaps(core),
    path: '/api/v1/namespaces/zk-diff/configmaps',
    apiVersion: 'v1',
    kind: 'ConfigMap',
    item: configMap.listed,
    desired: configMap.desired,
  },
  {
    resource: services(core),
    path: '/api/v1/namespaces/zk-diff/services',
    apiVersion: 'v1',
    kind: 'Service',
    item: headlessService.listed,
    desired: headlessService.desired,
  },
  {
    resource: statefulSets(apps),
    path: '/apis/apps/v1/namespaces/zk-diff/statefulsets',
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    item: statefulSet.listed,
    desired: statefulSet.desired,
  },
  {
    resource: podDisruptionBudgets(policy),
    path: '/apis/policy/v1/namespaces/zk-diff/poddisruptionbudgets',
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    item: podDisruptionBudget.listed,
    desired: podDisruptionBudget.desired,
  },
  {
    resource: networkPolicies(networking),
    path: '/apis/networking.k8s.io/v1/namespaces/zk-diff/networkpolicies',
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    item: networkPolicy.listed,
    desired: networkPolicy.desired,
  },
  { resource: pods(core), path: '/api/v1/namespaces/zk-diff/pods', apiVersion: 'v1', kind: 'Pod', item: aMemberPod },
  {
    resource: persistentVolumeClaims(core),
    path: '/api/v1/namespaces/zk-diff/persistentvolumeclaims',
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    item: aMemberClaim,
  },
];

for (const c of cases) {
  test.serial(
    `listed ${c.resource.name} carry apiVersion ${c.apiVersion} and kind ${c.kind}, as watched ones do`,
    async (t) => {
      nock(SERVER)
        .get(c.path)
        .query(true)
        .reply(200, listBody(c.apiVersion, c.kind, [c.item]));
      const list = await c.resource.list(inNamespace);
      t.is(list.items.length, 1);
      t.like(list.items[0], { apiVersion: c.apiVersion, kind: c.kind });
      if (c.desired !== undefined) {
        // Read back as plain JSON: what the cache compares with what the operator applies.
        t.is(firstDifference(c.desired, JSON.parse(JSON.stringify(list.items[0]))), undefined);
      }
    },
  );
}

test.serial(
  'listed NetworkPolicies keep `from` (client-node’s model says `_from`), so they equal watched ones',
  async (t) => {
    const rendered = renderCluster({ cluster: aCluster(), bootstrap: false }).networkPolicy;
    nock(SERVER)
      .get('/apis/networking.k8s.io/v1/namespaces/default/networkpolicies')
      .query(true)
      .reply(200, { kind: 'NetworkPolicyList', apiVersion: 'networking.k8s.io/v1', metadata: {}, items: [rendered] });
    const list = await networkPolicies(networking).list({
      namespace: 'default',
      labelSelector: undefined,
      fieldSelector: undefined,
    });
    t.deepEqual(JSON.parse(JSON.stringify(list.items[0]?.spec)), rendered?.spec);
  },
);
