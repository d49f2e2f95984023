/**
 * The reconciler against fakes of its edges, asserting the exact writes and Events each
 * situation produces (the style of cert-manager's controller tests).
 */
import type { V1ConfigMap, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import test from 'ava';
import { REVISION_ANNOTATION } from '../../../src/api/constants.js';
import type { ZooKeeperCluster, ZooKeeperClusterSpec, ZooKeeperClusterStatus } from '../../../src/api/types.js';
import { type ClusterCache, clusterReconciler, type OwnedKind } from '../../../src/controller/reconciler.js';
import { renderCluster } from '../../../src/render/cluster.js';
import type { ReconcileContext } from '../../../src/runtime/controller.js';
import { MemoryLogger } from '../../../src/runtime/logging.js';
import type { OwnedObject } from '../../../src/runtime/server-side-apply.js';
import { aCluster } from '../../support/builders.js';

class World implements ClusterCache {
  readonly objects = new Map<string, OwnedObject>();
  readonly pods: V1Pod[] = [];
  readonly writes: string[] = [];
  readonly events: string[] = [];
  failApplyWith: unknown;

  constructor(public clusterObject: ZooKeeperCluster | undefined) {}

  cluster() {
    return this.clusterObject;
  }
  owned(kind: OwnedKind, _namespace: string, name: string) {
    return this.objects.get(`${kind}/${name}`);
  }
  memberPods() {
    return this.pods;
  }

  reconcile() {
    const reconciler = clusterReconciler({
      cache: this,
      writer: {
        apply: async (object) => {
          this.writes.push(`apply ${object.kind}/${object.metadata?.name}`);
          if (this.failApplyWith !== undefined) throw this.failApplyWith;
          this.objects.set(`${object.kind}/${object.metadata?.name}`, structuredClone(object));
        },
        applyClusterStatus: async (_namespace, name, status) => {
          this.writes.push(`status ${name} ${status.phase}`);
          if (this.clusterObject) this.clusterObject = { ...this.clusterObject, status: structuredClone(status) };
        },
      },
      events: {
        record: async (_target, type, reason, message) => {
          this.events.push(`${type} ${reason}: ${message}`);
          return true;
        },
      },
      now: () => new Date('2026-11-25T12:00:00Z'),
    });
    const ctx: ReconcileContext = {
      key: 'default/example',
      reconcileId: 'r',
      logger: new MemoryLogger(),
      signal: new AbortController().signal,
    };
    return reconciler('default/example', ctx);
  }

  /** Member pods as the StatefulSet controller and kubelet would make them: ready, on a revision. */
  addReadyPods(count: number, revision: string) {
    for (let ordinal = 0; ordinal < count; ordinal++) {
      this.pods.push({
        metadata: { name: `example-${ordinal}`, annotations: { [REVISION_ANNOTATION]: revision } },
        spec: { containers: [{ name: 'zookeeper', image: 'zookeeper:3.9.4' }] },
        status: { conditions: [{ type: 'Ready', status: 'True' }] },
      });
    }
  }
}

const cluster = (spec: ZooKeeperClusterSpec = {}, status?: ZooKeeperClusterStatus) => ({
  ...aCluster(spec),
  ...(status ? { status } : {}),
});

test('a new cluster: every object is applied in order, then the status, each with an Event', async (t) => {
  const world = new World(cluster());
  const outcome = await world.reconcile();
  t.deepEqual(world.writes, [
    'apply ConfigMap/example-config',
    'apply Service/example-headless',
    'apply Service/example-client',
    'apply StatefulSet/example',
    'apply PodDisruptionBudget/example',
    'status example Creating',
  ]);
  t.deepEqual(world.events, [
    'Normal Created: Created ConfigMap example-config',
    'Normal Created: Created Service example-headless',
    'Normal Created: Created Service example-client',
    'Normal Created: Created StatefulSet example',
    'Normal Created: Created PodDisruptionBudget example',
  ]);
  t.deepEqual(outcome, { requeueAfterMs: 10_000 });
});

test('an unchanged, healthy cluster: no write calls and no Events at all', async (t) => {
  const world = new World(cluster());
  await world.reconcile();
  world.addReadyPods(3, renderCluster({ cluster: cluster(), bootstrap: true }).revision);
  await world.reconcile(); // status: Running
  await world.reconcile(); // the ensemble formed: the bootstrap marker turns off
  world.writes.length = 0;
  world.events.length = 0;
  const outcome = await world.reconcile();
  t.deepEqual(world.writes, []);
  t.deepEqual(world.events, []);
  t.is(outcome, undefined);
  t.is(world.clusterObject?.status?.phase, 'Running');
});

test('a changed image updates only the StatefulSet', async (t) => {
  const world = new World(cluster());
  await world.reconcile();
  world.clusterObject = { ...cluster({ image: 'zookeeper:3.9.3' }), status: world.clusterObject?.status ?? {} };
  world.writes.length = 0;
  world.events.length = 0;
  await world.reconcile();
  t.deepEqual(
    world.writes.filter((w) => w.startsWith('apply')),
    ['apply StatefulSet/example'],
  );
  t.deepEqual(world.events, ['Normal Updated: Updated StatefulSet example']);
});

test('a spec the operator cannot act on: nothing is applied, status and a Warning Event say why', async (t) => {
  const world = new World(cluster({ resources: { limits: { memory: '1Gi' } }, jvm: { heapMiB: 2048 } }));
  await world.reconcile();
  t.deepEqual(world.writes, ['status example Creating']);
  t.is(world.events.length, 1);
  t.regex(world.events[0] ?? '', /^Warning HeapExceedsMemoryLimit: jvm\.heapMiB \(2048 MiB\) must be smaller/);
  const degraded = world.clusterObject?.status?.conditions?.find((c) => c.type === 'Degraded');
  t.is(degraded?.reason, 'HeapExceedsMemoryLimit');
});

test('a forbidden apply is reported as a missing permission and retried with back-off', async (t) => {
  const world = new World(cluster());
  world.failApplyWith = Object.assign(new Error('HTTP-Code: 403'), {
    code: 403,
    body: JSON.stringify({
      kind: 'Status',
      reason: 'Forbidden',
      code: 403,
      message:
        'configmaps "example-config" is forbidden: User "system:serviceaccount:zk:op" cannot patch resource "configmaps" in API group "" in the namespace "default"',
    }),
  });
  await t.throwsAsync(world.reconcile());
  t.deepEqual(world.writes, ['apply ConfigMap/example-config', 'status example Creating']);
  t.regex(world.events.join('\n'), /Warning PermissionDenied: the operator lacks a permission: .*patch.*configmaps/);
  t.is(world.clusterObject?.status?.conditions?.find((c) => c.type === 'Degraded')?.reason, 'PermissionDenied');
});

test('a cluster being deleted is left to the garbage collector', async (t) => {
  const world = new World({ ...cluster(), metadata: { ...cluster().metadata, deletionTimestamp: new Date() } });
  t.is(await world.reconcile(), undefined);
  t.deepEqual(world.writes, []);
});

test('a paused cluster keeps the StatefulSet at the pod count it has', async (t) => {
  const world = new World(cluster({ replicas: 3 }));
  await world.reconcile();
  world.clusterObject = { ...cluster({ replicas: 5, paused: true }), status: world.clusterObject?.status ?? {} };
  await world.reconcile();
  t.is((world.objects.get('StatefulSet/example') as V1StatefulSet).spec?.replicas, 3);
  t.is(world.clusterObject.status?.phase, 'Paused');
});

test('the bootstrap marker turns off once the ensemble has formed', async (t) => {
  const world = new World(cluster());
  await world.reconcile();
  t.is((world.objects.get('ConfigMap/example-config') as V1ConfigMap | undefined)?.data?.bootstrap, 'true');
  world.addReadyPods(3, renderCluster({ cluster: cluster(), bootstrap: true }).revision);
  await world.reconcile();
  await world.reconcile();
  t.is((world.objects.get('ConfigMap/example-config') as V1ConfigMap | undefined)?.data?.bootstrap, 'false');
});
