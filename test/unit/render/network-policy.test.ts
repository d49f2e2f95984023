/**
 * The cluster's NetworkPolicy, as exact objects: who may reach which port of the members, and
 * nothing else (never the AdminServer); off when the spec says so; byte-identical for the same
 * input whatever the key order.
 */
import test from 'ava';
import fc from 'fast-check';
import type { NetworkPolicySpec, ZooKeeperClusterSpec } from '../../../src/api/types.js';
import { renderCluster } from '../../../src/render/cluster.js';
import type { OperatorPod } from '../../../src/render/network-policy.js';
import { aCluster } from '../../support/builders.js';

const render = (spec: ZooKeeperClusterSpec = {}, operatorPod?: OperatorPod) =>
  renderCluster({ cluster: aCluster(spec, { name: 'zk', namespace: 'apps' }), bootstrap: false, operatorPod })
    .networkPolicy;

const members = {
  podSelector: { matchLabels: { 'app.kubernetes.io/instance': 'zk', 'app.kubernetes.io/name': 'zookeeper' } },
};
const tcp = (port: number) => ({ protocol: 'TCP', port });
const operatorPod: OperatorPod = {
  namespace: 'zk-system',
  labels: { 'app.kubernetes.io/name': 'zookeeper-operator', 'app.kubernetes.io/instance': 'ops' },
};
const operatorRule = {
  from: [
    {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'zk-system' } },
      podSelector: {
        matchLabels: { 'app.kubernetes.io/instance': 'ops', 'app.kubernetes.io/name': 'zookeeper-operator' },
      },
    },
  ],
  ports: [tcp(2181)],
};

test('by default: one policy over the members, owned by the cluster; clients and monitoring from anywhere, quorum and election only from members', (t) => {
  t.deepEqual(render(), {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: 'zk',
      namespace: 'apps',
      labels: {
        'app.kubernetes.io/component': 'server',
        'app.kubernetes.io/instance': 'zk',
        'app.kubernetes.io/name': 'zookeeper',
        'app.kubernetes.io/managed-by': 'zookeeper-operator',
      },
      ownerReferences: [
        {
          apiVersion: 'zookeeper.ensembles.dev/v1alpha1',
          kind: 'ZooKeeperCluster',
          name: 'zk',
          uid: '00000000-0000-4000-8000-000000000001',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      podSelector: members.podSelector,
      policyTypes: ['Ingress'],
      ingress: [{ ports: [tcp(2181)] }, { from: [members], ports: [tcp(2888), tcp(3888)] }, { ports: [tcp(7000)] }],
    },
  });
});

const cases: { name: string; networkPolicy: NetworkPolicySpec; operatorPod?: OperatorPod; ingress: unknown[] }[] = [
  {
    name: 'the operator’s pods reach the client port from their namespace, by the chart’s labels',
    networkPolicy: {},
    operatorPod,
    ingress: [
      { ports: [tcp(2181)] },
      { from: [members], ports: [tcp(2888), tcp(3888)] },
      operatorRule,
      { ports: [tcp(7000)] },
    ],
  },
  {
    name: 'clients from a namespace and pod selector reach the client port; the operator keeps its own rule',
    networkPolicy: {
      clients: {
        namespaceSelector: { matchLabels: { team: 'payments' } },
        podSelector: { matchExpressions: [{ key: 'zk-client', operator: 'In', values: ['true'] }] },
      },
    },
    operatorPod,
    ingress: [
      {
        from: [
          {
            namespaceSelector: { matchLabels: { team: 'payments' } },
            podSelector: { matchExpressions: [{ key: 'zk-client', operator: 'In', values: ['true'] }] },
          },
        ],
        ports: [tcp(2181)],
      },
      { from: [members], ports: [tcp(2888), tcp(3888)] },
      operatorRule,
      { ports: [tcp(7000)] },
    ],
  },
  {
    name: 'monitoring from a pod selector alone: pods of the cluster’s namespace',
    networkPolicy: { monitoring: { podSelector: { matchLabels: { app: 'prometheus' } } } },
    ingress: [
      { ports: [tcp(2181)] },
      { from: [members], ports: [tcp(2888), tcp(3888)] },
      { from: [{ podSelector: { matchLabels: { app: 'prometheus' } } }], ports: [tcp(7000)] },
    ],
  },
  {
    name: 'empty maps and value lists are left out, as the API server stores them; an empty selector stays (all namespaces)',
    networkPolicy: {
      clients: {
        namespaceSelector: {},
        podSelector: { matchLabels: {}, matchExpressions: [{ key: 'role', operator: 'Exists', values: [] }] },
      },
    },
    ingress: [
      {
        from: [{ namespaceSelector: {}, podSelector: { matchExpressions: [{ key: 'role', operator: 'Exists' }] } }],
        ports: [tcp(2181)],
      },
      { from: [members], ports: [tcp(2888), tcp(3888)] },
      { ports: [tcp(7000)] },
    ],
  },
];

for (const c of cases) {
  test(`rules: ${c.name}`, (t) => {
    t.deepEqual(render({ networkPolicy: c.networkPolicy }, c.operatorPod)?.spec?.ingress, c.ingress);
  });
}

test('custom ports: each rule follows spec.ports', (t) => {
  const ports = { client: 12181, quorum: 12888, election: 13888, admin: 18080, metrics: 17000 };
  t.deepEqual(render({ ports }, operatorPod)?.spec?.ingress, [
    { ports: [tcp(12181)] },
    { from: [members], ports: [tcp(12888), tcp(13888)] },
    { ...operatorRule, ports: [tcp(12181)] },
    { ports: [tcp(17000)] },
  ]);
});

test('while members wait to move to new ports, the rules admit the ports they listen on now, too', (t) => {
  const ports = { client: 2281, quorum: 2889, election: 3889 };
  const pendingMoves = new Map([
    [
      1,
      {
        line: 'server.1=zk-0:2888:3888:participant;0.0.0.0:2181',
        client: 2181,
        clientOnLoopback: false,
        quorum: 2888,
        election: 3888,
      },
    ],
    [
      3,
      {
        line: 'server.3=zk-2:2888:3888:participant;0.0.0.0:2181',
        client: 2181,
        clientOnLoopback: false,
        quorum: 2888,
        election: 3888,
      },
    ],
  ]);
  const policy = renderCluster({
    cluster: aCluster({ ports }, { name: 'zk', namespace: 'apps' }),
    bootstrap: false,
    operatorPod,
    pendingMoves,
  }).networkPolicy;
  t.deepEqual(policy?.spec?.ingress, [
    { ports: [tcp(2281), tcp(2181)] },
    { from: [members], ports: [tcp(2889), tcp(3889), tcp(2888), tcp(3888)] },
    { ...operatorRule, ports: [tcp(2281), tcp(2181)] },
    { ports: [tcp(7000)] },
  ]);
});

test('networkPolicy.enabled: false renders none (the reconciler deletes one it made before)', (t) => {
  t.is(render({ networkPolicy: { enabled: false, clients: { podSelector: { matchLabels: { a: 'b' } } } } }), undefined);
});

test('the NetworkPolicy is not part of the revision: turning it off or on restarts no member', (t) => {
  const on = renderCluster({ cluster: aCluster(), bootstrap: false, operatorPod });
  const off = renderCluster({ cluster: aCluster({ networkPolicy: { enabled: false } }), bootstrap: false });
  t.is(on.revision, off.revision);
});

const selectorLabels = fc.dictionary(fc.stringMatching(/^[a-z]{1,8}$/), fc.stringMatching(/^[a-z0-9]{0,8}$/), {
  maxKeys: 4,
});
const reversed = (labels: Record<string, string>) => Object.fromEntries(Object.entries(labels).reverse());

test('the same input renders a byte-identical NetworkPolicy, whatever the key order; no rule opens the AdminServer', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(
        selectorLabels,
        selectorLabels,
        fc.constantFrom(1024, 8080, 18080, 65000),
        (clients, operatorLabels, admin) => {
          const ports = { client: 2181, quorum: 2888, election: 3888, admin, metrics: 7000 };
          const spec = (labels: Record<string, string>): ZooKeeperClusterSpec => ({
            ports,
            networkPolicy: { clients: { podSelector: { matchLabels: labels } } },
          });
          const a = render(spec(clients), { namespace: 'ops', labels: operatorLabels });
          const b = render(spec(reversed(clients)), { namespace: 'ops', labels: reversed(operatorLabels) });
          const opened = (a?.spec?.ingress ?? []).flatMap((rule) => (rule.ports ?? []).map((p) => p.port));
          return JSON.stringify(a) === JSON.stringify(b) && !opened.includes(admin);
        },
      ),
    ),
  );
});
