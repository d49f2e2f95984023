/**
 * The no-op check, on hand-made shapes and on objects as the real API server answered them.
 *
 * `api-server-objects/*.json` were captured from the local control plane (kube-apiserver
 * v1.36.3): `desired` is what the operator applied for one 3-member cluster, `served` is the
 * object read back (`kubectl get -o json`: the shape a watch event carries), `listed` the same
 * object as an item of a LIST. Only `metadata.managedFields` and the long ConfigMap scripts
 * (the same text in every copy) were cut.
 */
import test from 'ava';
import { firstDifference, isSatisfiedBy } from '../../../src/controller/object-diff.js';
import configMap from './api-server-objects/configmap.json' with { type: 'json' };
import networkPolicy from './api-server-objects/networkpolicy.json' with { type: 'json' };
import podDisruptionBudget from './api-server-objects/poddisruptionbudget.json' with { type: 'json' };
import clientService from './api-server-objects/service-client.json' with { type: 'json' };
import headlessService from './api-server-objects/service-headless.json' with { type: 'json' };
import statefulSet from './api-server-objects/statefulset.json' with { type: 'json' };

interface Captured {
  desired: { apiVersion: string; kind: string };
  served: object;
  listed: object;
}

const captured: Record<string, Captured> = {
  ConfigMap: configMap,
  'Service (headless)': headlessService,
  'Service (client)': clientService,
  StatefulSet: statefulSet,
  PodDisruptionBudget: podDisruptionBudget,
  NetworkPolicy: networkPolicy,
};

/** A deep copy of `object` changed by `change`. */
// biome-ignore lint/suspicious/noExplicitAny: the edits reach deep into captured JSON, where any path may be written.
function changed<T>(object: T, change: (copy: any) => void): T {
  const copy = structuredClone(object);
  change(copy);
  return copy;
}

const cases: { name: string; desired: unknown; live: unknown; difference: string | undefined }[] = [
  { name: 'identical objects', desired: { a: 1, b: { c: 'x' } }, live: { a: 1, b: { c: 'x' } }, difference: undefined },
  {
    name: 'fields only the live object has',
    desired: { a: 1 },
    live: { a: 1, defaulted: true, status: {} },
    difference: undefined,
  },
  { name: 'a changed value', desired: { a: 1 }, live: { a: 2 }, difference: 'a' },
  { name: 'a missing field', desired: { a: { b: 1 } }, live: { a: {} }, difference: 'a.b' },
  { name: 'a missing object', desired: { a: { b: 1 } }, live: {}, difference: 'a' },
  {
    name: 'list elements with defaults',
    desired: { l: [{ n: 'x' }] },
    live: { l: [{ n: 'x', d: 1 }] },
    difference: undefined,
  },
  { name: 'a list with an extra live element', desired: { l: [1] }, live: { l: [1, 2] }, difference: 'l' },
  { name: 'a list in another order', desired: { l: [1, 2] }, live: { l: [2, 1] }, difference: 'l[0]' },
  {
    name: 'NetworkPolicy rules equal to the live ones',
    desired: { spec: { ingress: [{ from: [{ podSelector: {} }], ports: [{ protocol: 'TCP', port: 2181 }] }] } },
    live: { spec: { ingress: [{ from: [{ podSelector: {} }], ports: [{ protocol: 'TCP', port: 2181 }] }] } },
    difference: undefined,
  },
  {
    name: 'a NetworkPolicy rule now from anywhere, still restricted live (a rule’s absent `from` means every source)',
    desired: { spec: { ingress: [{ ports: [{ protocol: 'TCP', port: 2181 }] }] } },
    live: { spec: { ingress: [{ from: [{ podSelector: {} }], ports: [{ protocol: 'TCP', port: 2181 }] }] } },
    difference: 'spec.ingress',
  },
  {
    name: 'canonicalised resource quantities',
    desired: { resources: { limits: { cpu: '1000m', memory: '1024Mi' } } },
    live: { resources: { limits: { cpu: '1', memory: '1Gi' } } },
    difference: undefined,
  },
  {
    name: 'different resource quantities',
    desired: { resources: { requests: { memory: '1Gi' } } },
    live: { resources: { requests: { memory: '2Gi' } } },
    difference: 'resources.requests.memory',
  },
  {
    name: 'look-alike numbers outside resource maps',
    desired: { metadata: { annotations: { v: '0.10' } } },
    live: { metadata: { annotations: { v: '0.1' } } },
    difference: 'metadata.annotations.v',
  },

  // Objects as the API server serves them.
  ...Object.entries(captured).flatMap(([kind, { desired, served, listed }]) => [
    {
      name: `${kind} as served (GET, watch event), with the server's defaults and status`,
      desired,
      live: served,
      difference: undefined,
    },
    {
      // The root cause of re-applying every child after a (re)list: the items of a LIST carry
      // neither, and an apply that changes nothing brings no watch event to correct the cache.
      name: `${kind} as a LIST item, which has no apiVersion and kind`,
      desired,
      live: listed,
      difference: 'apiVersion',
    },
    {
      name: `${kind} as a LIST item given back its apiVersion and kind (what the informers' lists do)`,
      desired,
      live: { ...listed, apiVersion: desired.apiVersion, kind: desired.kind },
      difference: undefined,
    },
  ]),
  {
    name: 'a NetworkPolicy spelt as client-node’s model spells it (`_from` for `from`)',
    desired: networkPolicy.desired,
    live: changed(networkPolicy.served, (p) => {
      p.spec.ingress = p.spec.ingress.map(({ from, ...rule }: { from?: unknown }) =>
        from === undefined ? rule : { ...rule, _from: from },
      );
    }),
    difference: 'spec.ingress',
  },
  {
    name: 'a StatefulSet whose image was changed by hand',
    desired: statefulSet.desired,
    live: changed(statefulSet.served, (s) => {
      s.spec.template.spec.containers[0].image = 'zookeeper:3.8.6';
    }),
    difference: 'spec.template.spec.containers[0].image',
  },
  {
    name: 'a StatefulSet scaled by hand',
    desired: statefulSet.desired,
    live: changed(statefulSet.served, (s) => {
      s.spec.replicas = 1;
    }),
    difference: 'spec.replicas',
  },
  {
    name: 'a StatefulSet whose claim size the server wrote in another unit',
    desired: changed(statefulSet.desired, (s) => {
      s.spec.volumeClaimTemplates[0].spec.resources.requests.storage = '10240Mi';
    }),
    live: statefulSet.served,
    difference: undefined,
  },
  {
    name: 'a StatefulSet with an extra container someone added',
    desired: statefulSet.desired,
    live: changed(statefulSet.served, (s) => {
      s.spec.template.spec.containers.push({ name: 'sidecar', image: 'busybox' });
    }),
    difference: 'spec.template.spec.containers',
  },
  {
    name: 'a ConfigMap whose bootstrap marker the operator now turns off',
    desired: changed(configMap.desired, (c) => {
      c.data.bootstrap = 'false';
    }),
    live: configMap.served,
    difference: 'data.bootstrap',
  },
  {
    name: 'a ConfigMap still holding a revision’s files that the operator now drops',
    desired: configMap.desired,
    live: changed(configMap.served, (c) => {
      c.data['zoo.cfg.0123456789abcdef'] = 'tickTime=2000\n';
    }),
    difference: 'data.zoo.cfg.0123456789abcdef',
  },
  {
    name: 'a ConfigMap that lost one of the operator’s labels',
    desired: configMap.desired,
    live: changed(configMap.served, (c) => {
      delete c.metadata.labels['app.kubernetes.io/component'];
    }),
    difference: 'metadata.labels.app.kubernetes.io/component',
  },
  {
    name: 'a ConfigMap with a label and an annotation added by someone else',
    desired: configMap.desired,
    live: changed(configMap.served, (c) => {
      c.metadata.labels.team = 'payments';
      c.metadata.annotations = { 'example.com/note': 'kept' };
    }),
    difference: undefined,
  },
  {
    name: 'a Service owned by an earlier cluster of the same name',
    desired: headlessService.desired,
    live: changed(headlessService.served, (s) => {
      s.metadata.ownerReferences[0].uid = '00000000-0000-4000-8000-000000000009';
    }),
    difference: 'metadata.ownerReferences[0].uid',
  },
  {
    name: 'a client Service whose port was changed by hand',
    desired: clientService.desired,
    live: changed(clientService.served, (s) => {
      s.spec.ports[0].port = 2182;
    }),
    difference: 'spec.ports[0].port',
  },
  {
    name: 'a PodDisruptionBudget whose maxUnavailable was changed by hand',
    desired: podDisruptionBudget.desired,
    live: changed(podDisruptionBudget.served, (p) => {
      p.spec.maxUnavailable = 2;
    }),
    difference: 'spec.maxUnavailable',
  },
];

for (const c of cases) {
  test(`firstDifference: ${c.name}`, (t) => {
    t.is(firstDifference(c.desired, c.live), c.difference);
    t.is(isSatisfiedBy(c.desired, c.live), c.difference === undefined);
  });
}
