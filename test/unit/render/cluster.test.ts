import type { V1Pod } from '@kubernetes/client-node';
import test from 'ava';
import fc from 'fast-check';
import { RESTART_ANNOTATION, REVISION_ANNOTATION } from '../../../src/api/constants.js';
import type { ZooKeeperClusterSpec } from '../../../src/api/types.js';
import { canonicalJson } from '../../../src/render/canonical-json.js';
import { renderCluster } from '../../../src/render/cluster.js';
import { aCluster } from '../../support/builders.js';
import { memberConfigFiles } from '../../support/member-config.js';

const render = (spec: ZooKeeperClusterSpec = {}, bootstrap = false) =>
  renderCluster({ cluster: aCluster(spec), bootstrap });
const zooCfg = (spec: ZooKeeperClusterSpec = {}) => memberConfigFiles(render(spec))['zoo.cfg'] ?? '';
const container = (spec: ZooKeeperClusterSpec = {}) => {
  const c = render(spec).statefulSet.spec?.template.spec?.containers[0];
  if (!c) throw new Error('no container rendered');
  return c;
};
const env = (spec: ZooKeeperClusterSpec, name: string) => container(spec).env?.find((e) => e.name === name)?.value;

test('zoo.cfg enables reconfig, disables standalone mode, and whitelists only the 4lw the probes and operator use', (t) => {
  const cfg = zooCfg();
  for (const line of [
    'standaloneEnabled=false',
    'reconfigEnabled=true',
    'quorumListenOnAllIPs=true',
    '4lw.commands.whitelist=conf,mntr,ruok,srvr',
    'metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider',
    'metricsProvider.httpPort=7000',
    'autopurge.purgeInterval=1',
    'autopurge.snapRetainCount=3',
  ]) {
    t.true(cfg.split('\n').includes(line), line);
  }
  t.notRegex(
    cfg,
    /^(server\.|dataDir|dynamicConfigFile|clientPort)/m,
    'membership and paths stay out of the static file',
  );
});

test('the AdminServer serves the member’s loopback only, on its port, and no Service or container port publishes it', (t) => {
  const rendered = render({ ports: { admin: 18080 } });
  const cfg = (memberConfigFiles(rendered)['zoo.cfg'] ?? '').split('\n');
  t.true(cfg.includes('admin.enableServer=true'));
  t.true(cfg.includes('admin.serverAddress=127.0.0.1'));
  t.true(cfg.includes('admin.serverPort=18080'));
  t.deepEqual(
    rendered.statefulSet.spec?.template.spec?.containers[0]?.ports?.map((p) => p.name),
    ['client', 'quorum', 'election', 'metrics'],
  );
  t.deepEqual(
    rendered.headlessService.spec?.ports?.map((p) => p.name),
    ['client', 'quorum', 'election', 'metrics'],
  );
});

test('spec.config overrides the operator defaults and adds new keys', (t) => {
  const cfg = zooCfg({ config: { tickTime: '3000', 'snapshot.compression.method': 'gz' } });
  t.true(cfg.includes('tickTime=3000\n'));
  t.false(cfg.includes('tickTime=2000'));
  t.true(cfg.includes('snapshot.compression.method=gz\n'));
});

test('the dynamic config lists one participant per member by its headless DNS name', (t) => {
  const rendered = renderCluster({
    cluster: aCluster({ replicas: 3 }, { name: 'zk', namespace: 'ns' }),
    bootstrap: true,
  });
  t.is(
    rendered.configMap.data?.['zoo.cfg.dynamic'],
    [1, 2, 3]
      .map((id) => `server.${id}=zk-${id - 1}.zk-headless.ns.svc.cluster.local:2888:3888:participant;0.0.0.0:2181\n`)
      .join(''),
  );
});

test('the dynamic config lists the committed members when given, not spec.replicas', (t) => {
  const rendered = renderCluster({
    cluster: aCluster({ replicas: 5 }),
    members: [3, 1, 2],
    podCount: 3,
    bootstrap: false,
  });
  t.deepEqual(
    rendered.configMap.data?.['zoo.cfg.dynamic']
      ?.trim()
      .split('\n')
      .map((l) => l.split('=')[0]),
    ['server.1', 'server.2', 'server.3'],
  );
  t.is(rendered.statefulSet.spec?.replicas, 3);
});

test('a member waiting to move keeps its committed line in the dynamic config, and the client Service keeps its old port', (t) => {
  const committed = 'server.2=example-1.example-headless.default.svc.cluster.local:2888:3888:participant;0.0.0.0:2181';
  const rendered = renderCluster({
    cluster: aCluster({ ports: { client: 2281, quorum: 2889, election: 3889 } }),
    bootstrap: false,
    pendingMoves: new Map([
      [2, { line: committed, client: 2181, clientOnLoopback: false, quorum: 2888, election: 3888 }],
    ]),
  });
  t.deepEqual(rendered.configMap.data?.['zoo.cfg.dynamic']?.trim().split('\n'), [
    'server.1=example-0.example-headless.default.svc.cluster.local:2889:3889:participant;0.0.0.0:2281',
    committed,
    'server.3=example-2.example-headless.default.svc.cluster.local:2889:3889:participant;0.0.0.0:2281',
  ]);
  t.deepEqual(rendered.clientService.spec?.ports, [
    { name: 'client', port: 2281, targetPort: 'client' },
    { name: 'client-2181', port: 2181, targetPort: 'client' },
  ]);
  const settled = renderCluster({
    cluster: aCluster({ ports: { client: 2281, quorum: 2889, election: 3889 } }),
    bootstrap: false,
  });
  t.is(rendered.revision, settled.revision, 'a pending move restarts nothing by itself');
});

test('the bootstrap marker is rendered only for a brand-new ensemble', (t) => {
  t.is(render({}, true).configMap.data?.bootstrap, 'true');
  t.is(render({}, false).configMap.data?.bootstrap, 'false');
});

test('the StatefulSet lets the operator order restarts and starts members in parallel', (t) => {
  const sts = render().statefulSet.spec;
  t.deepEqual(sts?.updateStrategy, { type: 'OnDelete' });
  t.is(sts?.podManagementPolicy, 'Parallel');
  t.is(sts?.serviceName, 'example-headless');
});

test('the headless Service publishes not-ready addresses so peers resolve before a quorum exists', (t) => {
  const svc = render().headlessService.spec;
  t.is(svc?.clusterIP, 'None');
  t.true(svc?.publishNotReadyAddresses);
});

test('the PodDisruptionBudget allows one member down at a time, and always the eviction of an unready one', (t) => {
  const spec = render().podDisruptionBudget.spec;
  t.is(spec?.maxUnavailable, 1);
  t.is(spec?.minAvailable, undefined, 'counted from the StatefulSet: a joining or missing member uses the budget too');
  t.is(spec?.unhealthyPodEvictionPolicy, 'AlwaysAllow');
});

test('every object carries the common labels and a controller reference to the cluster', (t) => {
  const { revision: _revision, ...objects } = render();
  for (const [name, object] of Object.entries(objects)) {
    const labels = object.metadata?.labels ?? {};
    t.is(labels['app.kubernetes.io/name'], 'zookeeper', name);
    t.is(labels['app.kubernetes.io/instance'], 'example', name);
    t.is(labels['app.kubernetes.io/managed-by'], 'zookeeper-operator', name);
    t.truthy(labels['app.kubernetes.io/component'], name);
    t.deepEqual(
      object.metadata?.ownerReferences?.map((o) => [o.kind, o.name, o.controller]),
      [['ZooKeeperCluster', 'example', true]],
    );
  }
});

test('probes: readiness asks srvr for a serving mode, liveness and startup ask ruok', (t) => {
  const c = container();
  t.deepEqual(c.readinessProbe?.exec?.command, ['/bin/bash', '/config/probe.sh', 'ready']);
  t.deepEqual(c.livenessProbe?.exec?.command, ['/bin/bash', '/config/probe.sh', 'live']);
  t.deepEqual(c.startupProbe?.exec?.command, ['/bin/bash', '/config/probe.sh', 'live']);
  t.true((c.startupProbe?.failureThreshold ?? 0) * (c.startupProbe?.periodSeconds ?? 0) >= 600);
});

const podSpec = (spec: ZooKeeperClusterSpec = {}) => {
  const pod = render(spec).statefulSet.spec?.template.spec;
  if (!pod) throw new Error('no pod template rendered');
  return pod;
};

const tokenCases: { name: string; spec: ZooKeeperClusterSpec; automount: false | 'left to the service account' }[] = [
  { name: 'without a service account, members mount no token', spec: {}, automount: false },
  { name: 'an empty service account name counts as none', spec: { pod: { serviceAccountName: '' } }, automount: false },
  {
    name: 'the user’s service account decides for itself',
    spec: { pod: { serviceAccountName: 'zk-app' } },
    automount: 'left to the service account',
  },
];
for (const c of tokenCases) {
  test(`service-account token: ${c.name}`, (t) => {
    const pod = podSpec(c.spec);
    if (c.automount === false) t.is(pod.automountServiceAccountToken, false);
    else t.false('automountServiceAccountToken' in pod, JSON.stringify(pod.automountServiceAccountToken));
  });
}

test('the member pod keeps to the restricted Pod Security Standard', (t) => {
  const pod = podSpec();
  t.like(pod.securityContext, { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });
  for (const container of pod.containers) {
    t.deepEqual(container.securityContext, {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: true,
    });
    t.true((container.ports ?? []).every((port) => port.hostPort === undefined));
  }
  const restrictedVolumeTypes = new Set(['configMap', 'emptyDir', 'persistentVolumeClaim']);
  for (const volume of pod.volumes ?? []) {
    t.true(
      Object.keys(volume).every((key) => key === 'name' || restrictedVolumeTypes.has(key)),
      JSON.stringify(volume),
    );
  }
  for (const hostNamespace of ['hostNetwork', 'hostPID', 'hostIPC'] as const)
    t.not(pod[hostNamespace], true, hostNamespace);
});

const heapCases: { name: string; spec: ZooKeeperClusterSpec; heap: string }[] = [
  { name: 'no memory set', spec: {}, heap: '1024' },
  { name: 'half the memory limit', spec: { resources: { limits: { memory: '2Gi' } } }, heap: '1024' },
  { name: 'half the request without a limit', spec: { resources: { requests: { memory: '1G' } } }, heap: '476' },
  {
    name: 'an explicit heap wins',
    spec: { resources: { limits: { memory: '4Gi' } }, jvm: { heapMiB: 3000 } },
    heap: '3000',
  },
];
for (const c of heapCases) {
  test(`JVM heap: ${c.name}`, (t) => {
    t.is(env(c.spec, 'ZK_SERVER_HEAP'), c.heap);
  });
}

test('JVM flags keep retrying the election port and forbid an empty database from voting', (t) => {
  t.is(
    env({ jvm: { extraFlags: ['-XX:+UseG1GC'] } }, 'SERVER_JVMFLAGS'),
    '-Dzookeeper.electionPortBindRetry=0 -Dzookeeper.db.autocreate=false -Dsun.net.inetaddr.ttl=1 -Dsun.net.inetaddr.negative.ttl=1 -XX:+UseG1GC',
  );
});

test('ephemeral storage uses an emptyDir and no claim template', (t) => {
  const sts = render({ storage: { ephemeral: true } }).statefulSet.spec;
  t.is(sts?.volumeClaimTemplates, undefined);
  t.deepEqual(
    sts?.template.spec?.volumes?.find((v) => v.name === 'data'),
    { name: 'data', emptyDir: {} },
  );
});

test('persistent storage: claim template with size and class, deleted with the cluster only under Delete', (t) => {
  const sts = render({ storage: { size: '20Gi', storageClassName: 'ssd', reclaimPolicy: 'Delete' } }).statefulSet.spec;
  t.deepEqual(sts?.volumeClaimTemplates?.[0]?.spec?.resources?.requests, { storage: '20Gi' });
  t.is(sts?.volumeClaimTemplates?.[0]?.spec?.storageClassName, 'ssd');
  t.deepEqual(sts?.persistentVolumeClaimRetentionPolicy, { whenDeleted: 'Delete', whenScaled: 'Retain' });
  t.deepEqual(render().statefulSet.spec?.persistentVolumeClaimRetentionPolicy, {
    whenDeleted: 'Retain',
    whenScaled: 'Retain',
  });
});

test('user pod labels cannot displace the selector labels', (t) => {
  const labels = render({ pod: { labels: { team: 'a' } } }).statefulSet.spec?.template.metadata?.labels;
  t.is(labels?.team, 'a');
  t.is(labels?.['app.kubernetes.io/instance'], 'example');
});

const revisionOf = (spec: ZooKeeperClusterSpec) => render(spec).revision;

const restartingChanges: { name: string; spec: ZooKeeperClusterSpec }[] = [
  { name: 'the image', spec: { image: 'zookeeper:3.9.3' } },
  { name: 'a zoo.cfg key', spec: { config: { tickTime: '3000' } } },
  { name: 'JVM flags', spec: { jvm: { extraFlags: ['-XX:+UseG1GC'] } } },
  { name: 'the heap', spec: { jvm: { heapMiB: 2048 } } },
  { name: 'resources', spec: { resources: { requests: { cpu: '1' } } } },
  { name: 'a port', spec: { ports: { client: 2182 } } },
];
for (const c of restartingChanges) {
  test(`changing ${c.name} changes the pod revision`, (t) => {
    t.not(revisionOf(c.spec), revisionOf({}));
  });
}

test('membership (replicas, committed members) and the bootstrap marker do not change the revision', (t) => {
  const base = render({}, true);
  t.is(render({ replicas: 5 }, false).revision, base.revision);
  t.is(renderCluster({ cluster: aCluster(), members: [1, 2], bootstrap: false }).revision, base.revision);
});

test('a restart request on the cluster changes the revision without a spec change', (t) => {
  const cluster = aCluster();
  const requested = {
    ...cluster,
    metadata: { ...cluster.metadata, annotations: { [RESTART_ANNOTATION]: '2026-11-25T12:00:00Z' } },
  };
  const before = renderCluster({ cluster, bootstrap: false });
  const after = renderCluster({ cluster: requested, bootstrap: false });
  t.not(after.revision, before.revision);
  t.is(after.statefulSet.spec?.template.metadata?.annotations?.[RESTART_ANNOTATION], '2026-11-25T12:00:00Z');
});

test('the pod template carries the revision annotation', (t) => {
  const rendered = render();
  t.is(rendered.statefulSet.spec?.template.metadata?.annotations?.[REVISION_ANNOTATION], rendered.revision);
});

const arbitraryCluster = fc.record({
  name: fc.stringMatching(/^[a-z]([a-z0-9-]{0,20}[a-z0-9])?$/),
  namespace: fc.stringMatching(/^[a-z]([a-z0-9-]{0,20}[a-z0-9])?$/),
  replicas: fc.integer({ min: 1, max: 15 }),
  tickTime: fc.integer({ min: 500, max: 10000 }),
  clientPort: fc.integer({ min: 1024, max: 65535 }),
  ephemeral: fc.boolean(),
  labels: fc.dictionary(fc.stringMatching(/^[a-z]{1,8}$/), fc.stringMatching(/^[a-z0-9]{0,8}$/)),
  bootstrap: fc.boolean(),
});

test('rendering is deterministic: the same spec renders byte-identical objects, whatever the key order', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(arbitraryCluster, (c) => {
        const spec: ZooKeeperClusterSpec = {
          replicas: c.replicas,
          config: { tickTime: String(c.tickTime), syncLimit: '5' },
          ports: { client: c.clientPort },
          storage: { ephemeral: c.ephemeral },
          pod: { labels: c.labels },
        };
        const reordered: ZooKeeperClusterSpec = {
          pod: { labels: Object.fromEntries(Object.entries(c.labels).reverse()) },
          storage: { ephemeral: c.ephemeral },
          ports: { client: c.clientPort },
          config: { syncLimit: '5', tickTime: String(c.tickTime) },
          replicas: c.replicas,
        };
        const meta = { name: c.name, namespace: c.namespace };
        const a = renderCluster({ cluster: aCluster(spec, meta), bootstrap: c.bootstrap });
        const b = renderCluster({ cluster: aCluster(structuredClone(spec), meta), bootstrap: c.bootstrap });
        const r = renderCluster({ cluster: aCluster(reordered, meta), bootstrap: c.bootstrap });
        return (
          JSON.stringify(a) === JSON.stringify(b) && canonicalJson(a) === canonicalJson(r) && a.revision === r.revision
        );
      }),
    ),
  );
});

/** A pod as the StatefulSet creates it from a rendered template. */
const podOf = (rendered: ReturnType<typeof render>): V1Pod => ({
  metadata: rendered.statefulSet.spec?.template.metadata ?? {},
  spec: rendered.statefulSet.spec?.template.spec ?? { containers: [] },
});

/** What `pod` reads from /config given the ConfigMap `data`, as a kubelet projects its items. */
const filesSeenBy = (pod: V1Pod, data: Record<string, string>) =>
  Object.fromEntries(
    (pod.spec?.volumes?.find((v) => v.name === 'config')?.configMap?.items ?? []).map((item) => [
      item.path,
      data[item.key],
    ]),
  );

test('mid-roll, a member not yet restarted still reads its own revision’s files; the membership stays shared', (t) => {
  const before = renderCluster({ cluster: aCluster(), bootstrap: false });
  const edited = aCluster({ config: { maxCnxns: 'lots' } });
  const live = before.configMap.data ?? {};
  const pods = [podOf(before), podOf(before), podOf(before)];
  const during = renderCluster({
    cluster: edited,
    members: [1, 2],
    bootstrap: false,
    liveConfigMap: live,
    livePods: pods,
  });
  const data = during.configMap.data ?? {};
  const outdated = filesSeenBy(podOf(before), data);
  t.deepEqual(
    { ...outdated, 'zoo.cfg.dynamic': undefined },
    { ...memberConfigFiles(before), 'zoo.cfg.dynamic': undefined },
    'byte for byte the files it was created with',
  );
  t.false(outdated['zoo.cfg']?.includes('maxCnxns=lots'));
  t.is(outdated['zoo.cfg.dynamic'], data['zoo.cfg.dynamic'], 'the committed membership, as every member reads it');
  t.is(outdated['zoo.cfg.dynamic']?.trim().split('\n').length, 2);
  t.true(memberConfigFiles(during)['zoo.cfg']?.includes('maxCnxns=lots\n'));

  // Once every member runs the new revision, the old files go.
  const after = renderCluster({
    cluster: edited,
    bootstrap: false,
    liveConfigMap: data,
    livePods: [podOf(during), podOf(during), podOf(during)],
  });
  t.deepEqual(after.configMap, renderCluster({ cluster: edited, bootstrap: false }).configMap);
});

test('a member’s files change the pod template, and so the revision; the shared keys do not', (t) => {
  const items = (rendered: ReturnType<typeof render>) =>
    rendered.statefulSet.spec?.template.spec?.volumes?.find((v) => v.name === 'config')?.configMap?.items;
  t.notDeepEqual(items(render({ config: { tickTime: '3000' } })), items(render()));
  t.deepEqual(items(render({}, true)), items(render({ replicas: 5 }, false)));
});
