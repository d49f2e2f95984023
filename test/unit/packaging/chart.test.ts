/**
 * The Helm chart as `helm lint` and `helm template` see it, for each of the values files in
 * helm/zookeeper-operator/ci/ and a few overrides: what it renders, what its schema rejects, and
 * that the files derived from the repo (CRD, deploy/, appVersion) are in step.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type { V1Deployment, V1EnvVar, V1PolicyRule } from '@kubernetes/client-node';
import test from 'ava';
import { load, loadAll } from 'js-yaml';
import { CHART_DIR, DEPLOY_FILE, helmBinary, renderDeployManifests } from '../../../scripts/deploy-manifests.js';
import { renderCluster } from '../../../src/render/cluster.js';
import { repoPath } from '../../harness/repo.js';
import { aCluster } from '../../support/builders.js';

const run = promisify(execFile);
const RELEASE_NAMESPACE = 'zk-system';

interface Rendered {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  rules?: V1PolicyRule[];
  subjects?: { kind: string; name: string; namespace?: string }[];
  roleRef?: { kind: string; name: string };
  spec?: Record<string, unknown>;
}

/** `helm template` with the given values files (under ci/) and --set flags, as parsed objects. */
async function render(valuesFiles: string[] = [], sets: string[] = []): Promise<Rendered[]> {
  const args = ['template', 'zookeeper-operator', CHART_DIR, '--namespace', RELEASE_NAMESPACE];
  for (const file of valuesFiles) args.push('--values', `${CHART_DIR}/ci/${file}`);
  for (const set of sets) args.push('--set', set);
  const { stdout } = await run(helmBinary(), args);
  return (loadAll(stdout) as (Rendered | null)[]).filter((doc): doc is Rendered => doc !== null);
}

/** The error `helm template` fails with. */
async function renderError(sets: string[]): Promise<string> {
  const error = await render([], sets).then(
    () => undefined,
    (failure: { stderr?: string }) => failure.stderr ?? String(failure),
  );
  if (error === undefined) throw new Error(`helm template accepted ${sets.join(' ')}`);
  return error;
}

const only = <T>(items: T[], what: string): T => {
  if (items.length !== 1) throw new Error(`expected one ${what}, found ${items.length}`);
  return items[0] as T;
};
const ofKind = (objects: Rendered[], kind: string) => objects.filter((object) => object.kind === kind);
const deploymentOf = (objects: Rendered[]) =>
  only(ofKind(objects, 'Deployment'), 'Deployment') as unknown as V1Deployment;
const operatorContainer = (objects: Rendered[]) => {
  const containers = deploymentOf(objects).spec?.template.spec?.containers ?? [];
  return only(containers, 'container');
};
const envValue = (objects: Rendered[], name: string): V1EnvVar | undefined =>
  operatorContainer(objects).env?.find((variable) => variable.name === name);
const rulesFile = (file: string) => load(readFileSync(`${CHART_DIR}/files/${file}`, 'utf8')) as V1PolicyRule[];
const kindsOf = (objects: Rendered[]) => objects.map((object) => object.kind).sort();

const VALUES_FILES: Record<string, string[]> = {
  defaults: [],
  namespaced: ['namespaced-values.yaml'],
  ha: ['ha-values.yaml'],
  metrics: ['metrics-values.yaml'],
  monitoring: ['monitoring-values.yaml'],
};

for (const [name, files] of Object.entries(VALUES_FILES)) {
  test(`helm lint --strict passes with the ${name} values`, async (t) => {
    const args = ['lint', '--strict', CHART_DIR, ...files.flatMap((file) => ['--values', `${CHART_DIR}/ci/${file}`])];
    const { stdout } = await run(helmBinary(), args);
    t.regex(stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  test(`${name}: every rule comes from the rules files (so Secrets only if they say so), none has a wildcard`, async (t) => {
    const objects = await render(files);
    const rules = objects.flatMap((object) => object.rules ?? []);
    t.true(rules.length > 0);
    for (const rule of rules) {
      for (const field of [rule.apiGroups, rule.resources, rule.verbs, rule.nonResourceURLs ?? []]) {
        t.false(field?.some((entry) => entry.includes('*')) ?? false, JSON.stringify(rule));
      }
    }
    const fileRules = [...rulesFile('cluster-rules.yaml'), ...rulesFile('leader-election-rules.yaml')];
    for (const rule of rules) {
      t.true(
        fileRules.some((fileRule) => JSON.stringify(fileRule) === JSON.stringify(rule)),
        `not in files/: ${JSON.stringify(rule)}`,
      );
    }
    const leaderElection = objects.find(
      (object) => object.kind === 'Role' && object.metadata.name === 'zookeeper-operator-leader-election',
    );
    t.is(leaderElection?.metadata.namespace, RELEASE_NAMESPACE);
    t.deepEqual(leaderElection?.rules, rulesFile('leader-election-rules.yaml'));
  });

  test(`${name}: the pod runs non-root, read-only, without capabilities, under seccomp RuntimeDefault`, async (t) => {
    const objects = await render(files);
    const pod = deploymentOf(objects).spec?.template.spec;
    t.like(pod?.securityContext, { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    t.deepEqual(operatorContainer(objects).securityContext, {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
  });

  test(`${name}: leader election is on and the Lease is named after the release`, async (t) => {
    const objects = await render(files);
    t.is(envValue(objects, 'LEADER_ELECT')?.value, 'true');
    t.is(envValue(objects, 'LEADER_ELECTION_ID')?.value, 'zookeeper-operator');
  });
}

test('defaults: a ClusterRole with exactly the rules file, bound to the ServiceAccount, watching all namespaces', async (t) => {
  const objects = await render();
  t.deepEqual(kindsOf(objects), [
    'ClusterRole',
    'ClusterRoleBinding',
    'Deployment',
    'Role',
    'RoleBinding',
    'Service',
    'ServiceAccount',
  ]);
  t.deepEqual(only(ofKind(objects, 'ClusterRole'), 'ClusterRole').rules, rulesFile('cluster-rules.yaml'));
  t.deepEqual(only(ofKind(objects, 'ClusterRoleBinding'), 'ClusterRoleBinding').subjects, [
    { kind: 'ServiceAccount', name: 'zookeeper-operator', namespace: RELEASE_NAMESPACE },
  ]);
  t.is(envValue(objects, 'WATCH_NAMESPACES')?.value, '');
  t.is(deploymentOf(objects).spec?.replicas, 1);
});

test('defaults: probes hit /healthz and /readyz on the port the operator serves; the downward API names the pod', async (t) => {
  const objects = await render();
  const container = operatorContainer(objects);
  t.deepEqual(container.ports, [{ name: 'http', containerPort: 8081, protocol: 'TCP' }]);
  t.is(envValue(objects, 'PROBE_ADDRESS')?.value, ':8081');
  t.like(container.livenessProbe?.httpGet, { path: '/healthz', port: 'http' });
  t.like(container.readinessProbe?.httpGet, { path: '/readyz', port: 'http' });
  t.is(envValue(objects, 'POD_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath, 'metadata.namespace');
  t.is(envValue(objects, 'POD_NAME')?.valueFrom?.fieldRef?.fieldPath, 'metadata.name');
  t.is(container.image, `zookeeper-operator:${readPackageVersion()}`);
});

test('OPERATOR_POD_LABELS names exactly the labels that select the operator’s pods, so NetworkPolicies admit them', async (t) => {
  for (const sets of [[], ['nameOverride=zk-op'], ['fullnameOverride=elsewhere']]) {
    const objects = await render([], sets);
    const deployment = deploymentOf(objects);
    const selector = deployment.spec?.selector.matchLabels ?? {};
    const listed = Object.fromEntries(
      (envValue(objects, 'OPERATOR_POD_LABELS')?.value ?? '').split(',').map((pair) => pair.split('=')),
    );
    t.deepEqual(listed, selector, sets.join(' '));
    t.like(deployment.spec?.template.metadata?.labels, selector);
  }
});

test('namespaced with two namespaces: a Role and RoleBinding in each, nothing cluster-wide', async (t) => {
  const objects = await render(VALUES_FILES.namespaced);
  t.deepEqual(ofKind(objects, 'ClusterRole'), []);
  t.deepEqual(ofKind(objects, 'ClusterRoleBinding'), []);
  for (const namespace of ['team-a', 'team-b']) {
    const role = only(
      objects.filter((object) => object.kind === 'Role' && object.metadata.namespace === namespace),
      `Role in ${namespace}`,
    );
    t.deepEqual(role.rules, rulesFile('cluster-rules.yaml'));
    const binding = only(
      objects.filter((object) => object.kind === 'RoleBinding' && object.metadata.namespace === namespace),
      `RoleBinding in ${namespace}`,
    );
    t.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name });
    t.deepEqual(binding.subjects, [
      { kind: 'ServiceAccount', name: 'zookeeper-operator', namespace: RELEASE_NAMESPACE },
    ]);
  }
  t.is(envValue(objects, 'WATCH_NAMESPACES')?.value, 'team-a,team-b');
});

test('HA: two replicas with leader election and the given anti-affinity', async (t) => {
  const objects = await render(VALUES_FILES.ha);
  const deployment = deploymentOf(objects);
  t.is(deployment.spec?.replicas, 2);
  t.is(envValue(objects, 'LEADER_ELECT')?.value, 'true');
  t.truthy(deployment.spec?.template.spec?.affinity?.podAntiAffinity);
});

test('metrics: the ServiceMonitor scrapes the metrics Service by its port name and selector', async (t) => {
  const objects = await render(VALUES_FILES.metrics);
  const service = only(ofKind(objects, 'Service'), 'Service');
  const monitor = only(ofKind(objects, 'ServiceMonitor'), 'ServiceMonitor') as Rendered & {
    apiVersion?: string;
    spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] };
  };
  t.is((monitor as { apiVersion?: string }).apiVersion, 'monitoring.coreos.com/v1');
  t.is(monitor.metadata.labels?.release, 'prometheus');
  t.like(service.metadata.labels, monitor.spec.selector.matchLabels);
  const ports = (service.spec?.ports ?? []) as { name: string; targetPort: string }[];
  t.deepEqual(
    monitor.spec.endpoints.map((endpoint) => [endpoint.port, endpoint.path]),
    [['http-metrics', '/metrics']],
  );
  t.is(ports[0]?.name, 'http-metrics');
  t.is(ports[0]?.targetPort, 'http');
});

test('metrics: the ServiceMonitor keeps the cluster namespace the per-cluster gauges carry (honorLabels)', async (t) => {
  const objects = await render(VALUES_FILES.metrics);
  const monitor = only(ofKind(objects, 'ServiceMonitor'), 'ServiceMonitor') as Rendered & {
    spec: { endpoints: { honorLabels?: boolean }[] };
  };
  t.true(monitor.spec.endpoints[0]?.honorLabels);
});

test('monitoring pack off (the default): no PodMonitor, PrometheusRule or dashboard', async (t) => {
  const kinds = kindsOf(await render());
  for (const kind of ['PodMonitor', 'PrometheusRule', 'ConfigMap']) t.false(kinds.includes(kind), kind);
});

test('monitoring pack on: the PodMonitor scrapes the metrics port of the pods the operator labels as members', async (t) => {
  const objects = await render(VALUES_FILES.monitoring);
  const monitor = only(ofKind(objects, 'PodMonitor'), 'PodMonitor') as Rendered & {
    spec: {
      selector: { matchLabels: Record<string, string> };
      namespaceSelector: { any?: boolean };
      podMetricsEndpoints: { port: string; path: string; relabelings: { targetLabel: string }[] }[];
    };
  };
  t.is(monitor.metadata.labels?.release, 'prometheus');
  const rendered = renderCluster({ cluster: aCluster(), bootstrap: false });
  const podLabels = rendered.statefulSet.spec?.template.metadata?.labels ?? {};
  t.like(podLabels, monitor.spec.selector.matchLabels);
  t.true(monitor.spec.namespaceSelector.any);
  const endpoint = only(monitor.spec.podMetricsEndpoints, 'endpoint');
  const ports = rendered.statefulSet.spec?.template.spec?.containers[0]?.ports ?? [];
  t.true(ports.some((port) => port.name === endpoint.port));
  t.is(endpoint.path, '/metrics');
  t.deepEqual(
    endpoint.relabelings.map((relabel) => relabel.targetLabel),
    ['zookeeper_cluster'],
  );
});

test('monitoring pack on: the PrometheusRule carries the rules file, the dashboard ConfigMap the dashboard', async (t) => {
  const objects = await render(VALUES_FILES.monitoring);
  const rule = only(ofKind(objects, 'PrometheusRule'), 'PrometheusRule');
  t.deepEqual(rule.spec, load(readFileSync(`${CHART_DIR}/files/monitoring/zookeeper-rules.yaml`, 'utf8')));
  const dashboard = only(ofKind(objects, 'ConfigMap'), 'ConfigMap') as Rendered & { data: Record<string, string> };
  t.is(dashboard.metadata.labels?.grafana_dashboard, '1');
  const json = JSON.parse(dashboard.data['zookeeper.json'] ?? '') as { uid: string; panels: unknown[] };
  t.deepEqual(json, JSON.parse(readFileSync(`${CHART_DIR}/files/monitoring/zookeeper-dashboard.json`, 'utf8')));
});

test('monitoring pack: a namespace list scopes the PodMonitor to those namespaces', async (t) => {
  const objects = await render(
    [],
    ['monitoring.podMonitor.enabled=true', 'monitoring.podMonitor.namespaces={shop,data}'],
  );
  const monitor = only(ofKind(objects, 'PodMonitor'), 'PodMonitor');
  t.deepEqual(monitor.spec?.namespaceSelector, { matchNames: ['shop', 'data'] });
});

test('pod settings from values reach the pod; a securityContext value merges into the defaults', async (t) => {
  const objects = await render(
    [],
    [
      'securityContext.runAsUser=1001',
      'nodeSelector.disk=ssd',
      'tolerations[0].key=dedicated',
      'tolerations[0].operator=Exists',
      'priorityClassName=operators',
      'imagePullSecrets[0].name=regcred',
      'extraEnv[0].name=NODE_OPTIONS',
      'extraEnv[0].value=--max-old-space-size=192',
      'resources.limits.memory=300Mi',
      'image.tag=0.1.0-rc1',
      'logLevel=debug',
      'workers=4',
    ],
  );
  const pod = deploymentOf(objects).spec?.template.spec;
  const container = operatorContainer(objects);
  t.like(container.securityContext, { runAsUser: 1001, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
  t.deepEqual(pod?.nodeSelector, { disk: 'ssd' });
  t.deepEqual(pod?.tolerations, [{ key: 'dedicated', operator: 'Exists' }]);
  t.is(pod?.priorityClassName, 'operators');
  t.deepEqual(pod?.imagePullSecrets, [{ name: 'regcred' }]);
  t.is(envValue(objects, 'NODE_OPTIONS')?.value, '--max-old-space-size=192');
  t.deepEqual(container.resources?.limits, { memory: '300Mi' });
  t.is(container.image, 'zookeeper-operator:0.1.0-rc1');
  t.is(envValue(objects, 'LOG_LEVEL')?.value, 'debug');
  t.is(envValue(objects, 'WORKERS')?.value, '4');
});

const INVALID_VALUES: { name: string; sets: string[]; message: RegExp }[] = [
  { name: 'zero replicas', sets: ['replicaCount=0'], message: /at '\/replicaCount': minimum: got 0, want 1/ },
  {
    name: 'watchNamespaces as a comma-separated string',
    sets: ['watchNamespaces=team-a\\,team-b'],
    message: /at '\/watchNamespaces': got string, want array/,
  },
  {
    name: 'a watched namespace that is not a DNS label',
    sets: ['watchNamespaces={Team_A}'],
    message: /at '\/watchNamespaces\/0': 'Team_A' does not match pattern/,
  },
  { name: 'an unknown log level', sets: ['logLevel=verbose'], message: /at '\/logLevel': value must be one of/ },
  { name: 'an unknown pull policy', sets: ['image.pullPolicy=Sometimes'], message: /at '\/image\/pullPolicy'/ },
  {
    name: 'a misspelt top-level key',
    sets: ['replicas=2'],
    message: /additional properties 'replicas' not allowed/,
  },
  {
    name: 'a ServiceMonitor without the metrics Service',
    sets: ['metrics.serviceMonitor.enabled=true', 'metrics.service.enabled=false'],
    message: /at '\/metrics\/service\/enabled': value must be true/,
  },
  {
    name: 'no ServiceAccount to run as',
    sets: ['serviceAccount.create=false'],
    message: /serviceAccount.name must name an existing ServiceAccount/,
  },
];

for (const { name, sets, message } of INVALID_VALUES) {
  test(`the chart rejects ${name} with a message naming the value`, async (t) => {
    t.regex(await renderError(sets), message);
  });
}

function readPackageVersion(): string {
  return (JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string }).version;
}

test("the chart's appVersion is package.json's version", (t) => {
  const chart = load(readFileSync(`${CHART_DIR}/Chart.yaml`, 'utf8')) as { appVersion: string };
  t.is(chart.appVersion, readPackageVersion());
});

test('the chart ships the CRD byte for byte as crds/ has it (run `npm run crd`)', (t) => {
  t.is(
    readFileSync(`${CHART_DIR}/crds/zookeeperclusters.yaml`, 'utf8'),
    readFileSync(repoPath('crds/zookeeperclusters.yaml'), 'utf8'),
  );
});

test('deploy/zookeeper-operator.yaml is the chart rendered now (run `npx tsx scripts/render-manifests.ts`)', async (t) => {
  t.is(readFileSync(DEPLOY_FILE, 'utf8'), await renderDeployManifests());
});
