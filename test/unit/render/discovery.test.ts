import test from 'ava';
import fc from 'fast-check';
import { resolveSpec } from '../../../src/api/defaults.js';
import type { ZooKeeperClusterSpec } from '../../../src/api/types.js';
import { canonicalJson } from '../../../src/render/canonical-json.js';
import { renderCluster } from '../../../src/render/cluster.js';
import { CONNECTION_KEYS, renderConnectionData } from '../../../src/render/discovery.js';
import { aCluster } from '../../support/builders.js';

const ref = { name: 'orders', namespace: 'shop' };
const data = (spec: ZooKeeperClusterSpec, members: number[]) => renderConnectionData(ref, resolveSpec(spec), members);

const cases: { name: string; spec: ZooKeeperClusterSpec; members: number[]; expected: Record<string, string> }[] = [
  {
    name: 'three voters on the default port and domain',
    spec: {},
    members: [1, 2, 3],
    expected: {
      ZOOKEEPER_CLIENT_PORT: '2181',
      ZOOKEEPER_CONNECT: 'orders-client.shop.svc.cluster.local:2181',
      ZOOKEEPER_CONNECT_MEMBERS:
        'orders-0.orders-headless.shop.svc.cluster.local:2181,orders-1.orders-headless.shop.svc.cluster.local:2181,orders-2.orders-headless.shop.svc.cluster.local:2181',
      ZOOKEEPER_TLS_ENABLED: 'false',
    },
  },
  {
    name: 'a custom client port and cluster domain go into every address',
    spec: { ports: { client: 12181 }, clusterDomain: 'corp.internal' },
    members: [1],
    expected: {
      ZOOKEEPER_CLIENT_PORT: '12181',
      ZOOKEEPER_CONNECT: 'orders-client.shop.svc.corp.internal:12181',
      ZOOKEEPER_CONNECT_MEMBERS: 'orders-0.orders-headless.shop.svc.corp.internal:12181',
      ZOOKEEPER_TLS_ENABLED: 'false',
    },
  },
  {
    name: 'only the committed voters are listed, in server id order, while a scale-down is under way',
    spec: { replicas: 3 },
    members: [4, 1, 2],
    expected: {
      ZOOKEEPER_CLIENT_PORT: '2181',
      ZOOKEEPER_CONNECT: 'orders-client.shop.svc.cluster.local:2181',
      ZOOKEEPER_CONNECT_MEMBERS:
        'orders-0.orders-headless.shop.svc.cluster.local:2181,orders-1.orders-headless.shop.svc.cluster.local:2181,orders-3.orders-headless.shop.svc.cluster.local:2181',
      ZOOKEEPER_TLS_ENABLED: 'false',
    },
  },
];

for (const c of cases) {
  test(`connection data: ${c.name}`, (t) => {
    t.deepEqual(data(c.spec, c.members), c.expected);
  });
}

test('the keys are the documented environment variable names, so envFrom takes them as they are', (t) => {
  const keys = Object.keys(renderConnectionData(ref, resolveSpec({}), [1, 2, 3], new Map(), tlsBeside));
  t.deepEqual(keys.sort(), Object.values(CONNECTION_KEYS).sort());
  for (const key of keys) t.regex(key, /^[A-Z][A-Z0-9_]*$/);
});

const tlsBeside = { tls: 'beside', caBundle: '-----BEGIN CERTIFICATE-----\n…' } as const;

test('with client TLS the secure addresses and the CA bundle join the plaintext ones; once TLS only, every address names the TLS port', (t) => {
  const spec = resolveSpec({});
  t.like(renderConnectionData(ref, spec, [1], new Map(), tlsBeside), {
    ZOOKEEPER_CLIENT_PORT: '2181',
    ZOOKEEPER_TLS_ENABLED: 'true',
    ZOOKEEPER_SECURE_CLIENT_PORT: '2281',
    ZOOKEEPER_CONNECT_SECURE: 'orders-client.shop.svc.cluster.local:2281',
    ZOOKEEPER_TLS_CA_CERTIFICATE: tlsBeside.caBundle,
  });
  const only = renderConnectionData(ref, spec, [1], new Map(), { ...tlsBeside, tls: 'only' });
  t.like(only, { ZOOKEEPER_CLIENT_PORT: '2281', ZOOKEEPER_CONNECT: 'orders-client.shop.svc.cluster.local:2281' });
  t.regex(only.ZOOKEEPER_CONNECT_MEMBERS ?? '', /:2281$/);
  t.is(data({}, [1]).ZOOKEEPER_TLS_ENABLED, 'false');
});

test('the discovery ConfigMap is owned by the cluster and named NAME-connection', (t) => {
  const rendered = renderCluster({ cluster: aCluster({}, { name: 'orders', namespace: 'shop' }), bootstrap: false });
  const map = rendered.connectionConfigMap;
  t.is(map.metadata?.name, 'orders-connection');
  t.is(map.metadata?.namespace, 'shop');
  t.is(map.metadata?.ownerReferences?.[0]?.kind, 'ZooKeeperCluster');
  t.true(map.metadata?.ownerReferences?.[0]?.controller);
  t.is(map.data?.ZOOKEEPER_CONNECT, 'orders-client.shop.svc.cluster.local:2181');
});

test('while a port change moves the members, each is listed at the client port it listens on now', (t) => {
  const moving = { line: 'server.2=…', client: 2181, clientOnLoopback: false, quorum: 2888, election: 3888 };
  const rendered = renderCluster({
    cluster: aCluster({ ports: { client: 2281 } }, { name: 'orders', namespace: 'shop' }),
    bootstrap: false,
    pendingMoves: new Map([[2, moving]]),
  });
  t.deepEqual(rendered.connectionConfigMap.data?.ZOOKEEPER_CONNECT_MEMBERS?.split(','), [
    'orders-0.orders-headless.shop.svc.cluster.local:2281',
    'orders-1.orders-headless.shop.svc.cluster.local:2181',
    'orders-2.orders-headless.shop.svc.cluster.local:2281',
  ]);
  t.is(rendered.connectionConfigMap.data?.ZOOKEEPER_CONNECT, 'orders-client.shop.svc.cluster.local:2281');
});

test('the discovery ConfigMap lists the members the scaling logic passes, not spec.replicas', (t) => {
  const rendered = renderCluster({ cluster: aCluster({ replicas: 5 }), bootstrap: false, members: [1, 2, 3] });
  t.is(rendered.connectionConfigMap.data?.ZOOKEEPER_CONNECT_MEMBERS?.split(',').length, 3);
});

test('property: the same spec and members render byte-identical connection data, whatever the member order', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 255 }), { minLength: 1, maxLength: 9 }),
        fc.integer({ min: 1024, max: 65535 }),
        (members, client) => {
          const spec = { ports: { client } };
          const once = canonicalJson(data(spec, members));
          const shuffled = canonicalJson(data(spec, [...members].reverse()));
          const listed = data(spec, members).ZOOKEEPER_CONNECT_MEMBERS?.split(',') ?? [];
          return (
            once === shuffled &&
            listed.length === members.length &&
            listed.every((address) => address.endsWith(`:${client}`))
          );
        },
      ),
    ),
  );
});
