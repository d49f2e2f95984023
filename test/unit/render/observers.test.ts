/** Rendering a cluster with observers: their StatefulSet, their files, and who the client Service and discovery name. */
import test from 'ava';
import fc from 'fast-check';
import { REVISION_ANNOTATION } from '../../../src/api/constants.js';
import { type DesiredObjects, desiredRevision, renderCluster } from '../../../src/render/cluster.js';
import { CONNECTION_KEYS } from '../../../src/render/discovery.js';
import { aCluster } from '../../support/builders.js';

const render = (spec: Parameters<typeof aCluster>[0], extra: { observerPodCount?: number; members?: number[] } = {}) =>
  renderCluster({ cluster: aCluster(spec), bootstrap: false, ...extra });

const startScriptKey = (sts: DesiredObjects['statefulSet'] | undefined) =>
  sts?.spec?.template.spec?.volumes
    ?.find((v) => v.name === 'config')
    ?.configMap?.items?.find((i) => i.path === 'start.sh')?.key;

test('a cluster that never asked for observers renders no observer StatefulSet and no observer files', (t) => {
  const desired = render({ replicas: 3 });
  t.is(desired.observerStatefulSet, undefined);
  t.is(Object.keys(desired.configMap.data ?? {}).filter((k) => k.startsWith('start.sh.')).length, 1);
});

test('observers run in their own StatefulSet under the same headless Service, on the voters’ revision', (t) => {
  const desired = render({ replicas: 3, observers: 2 }, { observerPodCount: 1 });
  const sts = desired.observerStatefulSet;
  t.is(sts?.metadata?.name, 'example-observer');
  t.is(sts?.spec?.replicas, 1);
  t.is(sts?.spec?.serviceName, 'example-headless');
  t.is(sts?.spec?.selector.matchLabels?.['app.kubernetes.io/component'], 'observer');
  t.is(sts?.spec?.template.metadata?.labels?.['app.kubernetes.io/component'], 'observer');
  t.is(sts?.spec?.template.metadata?.annotations?.[REVISION_ANNOTATION], desired.revision);
  t.deepEqual(sts?.spec?.persistentVolumeClaimRetentionPolicy, { whenDeleted: 'Retain', whenScaled: 'Delete' });
  // The voters' StatefulSet does not select observer pods by its template's labels.
  t.is(desired.statefulSet.spec?.template.metadata?.labels?.['app.kubernetes.io/component'], 'server');
  const observerKey = startScriptKey(sts);
  t.not(observerKey, startScriptKey(desired.statefulSet));
  t.regex(desired.configMap.data?.[observerKey ?? ''] ?? '', /-observer-\(\[0-9\]\+\)\$/);
});

test('changing the number of observers never changes the voters’ revision or template', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 32 }), fc.integer({ min: 1, max: 15 }), (observers, replicas) => {
      const without = render({ replicas });
      const withObservers = render({ replicas, observers }, { observerPodCount: observers });
      t.is(desiredRevision(aCluster({ replicas, observers })), without.revision);
      t.deepEqual(withObservers.statefulSet, without.statefulSet);
    }),
    { numRuns: 30 },
  );
});

test('the dynamic config lists committed observers as observers, after the voters', (t) => {
  const desired = render({ replicas: 3, observers: 1 }, { members: [1, 2, 3, 101], observerPodCount: 1 });
  const lines = (desired.configMap.data?.['zoo.cfg.dynamic'] ?? '').trim().split('\n');
  t.is(lines.length, 4);
  t.is(
    lines[3],
    'server.101=example-observer-0.example-headless.default.svc.cluster.local:2888:3888:observer;0.0.0.0:2181',
  );
});

test('the client Service and the discovery member list include observers by default, and only voters when switched off', (t) => {
  const members = [1, 2, 3, 101];
  const included = render({ replicas: 3, observers: 1 }, { members, observerPodCount: 1 });
  t.is(included.clientService.spec?.selector?.['app.kubernetes.io/component'], undefined);
  t.regex(included.connectionConfigMap.data?.[CONNECTION_KEYS.members] ?? '', /example-observer-0/);
  const excluded = render(
    { replicas: 3, observers: 1, clientService: { includeObservers: false } },
    { members, observerPodCount: 1 },
  );
  t.is(excluded.clientService.spec?.selector?.['app.kubernetes.io/component'], 'server');
  t.notRegex(excluded.connectionConfigMap.data?.[CONNECTION_KEYS.members] ?? '', /observer/);
  t.is((excluded.connectionConfigMap.data?.[CONNECTION_KEYS.members] ?? '').split(',').length, 3);
});

test('the observer StatefulSet keeps its live claim size: its claim template cannot change', (t) => {
  const desired = renderCluster({
    cluster: aCluster({ replicas: 3, observers: 1, storage: { size: '20Gi' } }),
    bootstrap: false,
    observerPodCount: 1,
    observerClaimSize: '10Gi',
  });
  t.is(desired.observerStatefulSet?.spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.storage, '10Gi');
  t.is(desired.statefulSet.spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.storage, '20Gi');
});
