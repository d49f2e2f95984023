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
import type { OwnedObject } from '../../../src/runtime/kube-writer.js';
import { MemoryLogger } from '../../../src/runtime/logging.js';
import type { MemberReading } from '../../../src/zookeeper/health.js';
import { aCluster } from '../../support/builders.js';

class World implements ClusterCache {
  readonly objects = new Map<string, OwnedObject>();
  readonly pods: V1Pod[] = [];
  readonly writes: string[] = [];
  readonly events: string[] = [];
  failApplyWith: unknown;
  secretCreated = false;

  /** What ZooKeeper answers when every pod here serves: the highest server id leads. */
  healthyReadings(): MemberReading[] {
    const ids = this.pods.map((_, ordinal) => ordinal + 1);
    const leader = Math.max(...ids);
    const conf = {
      serverId: 0,
      members: ids.map((myid) => ({ myid, host: `example-${myid - 1}`, role: 'participant' as const })),
      configVersion: '100000000',
    };
    return ids.map((myid) => ({
      pod: `example-${myid - 1}`,
      myid,
      srvr: { version: '3.9.4', mode: myid === leader ? 'leader' : 'follower', zxid: '0x100000001', epoch: 1 },
      mntr:
        myid === leader
          ? {
              serverState: 'leader',
              peerState: 'leading - broadcast',
              quorumSize: ids.length,
              syncedFollowers: ids.length - 1,
              syncedNonVotingFollowers: 0,
            }
          : { serverState: 'follower', peerState: 'following - broadcast' },
      conf: { ...conf, serverId: myid },
    }));
  }

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
  claims() {
    return [];
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
        deletePod: async (_namespace, name, uid) => {
          this.writes.push(`delete pod ${name} (uid ${uid})`);
        },
        superUserPassword: async (_namespace, name) => {
          if (!this.secretCreated) this.writes.push(`create Secret/${name}`);
          this.secretCreated = true;
          return 'secret';
        },
        deleteClaim: async (_namespace, name) => {
          this.writes.push(`delete claim ${name}`);
        },
        markClaim: async (_namespace, name, _annotation, version) => {
          this.writes.push(`mark claim ${name} removed in ${version}`);
        },
        applyClusterStatus: async (_namespace, name, status) => {
          this.writes.push(`status ${name} ${status.phase}`);
          if (this.clusterObject) this.clusterObject = { ...this.clusterObject, status: structuredClone(status) };
        },
      },
      ensemble: { read: async () => this.healthyReadings() },
      membership: (servers) => ({
        read: async () => {
          throw new Error('not used');
        },
        add: async (serverLine, fromVersion) => {
          this.writes.push(`reconfig add ${serverLine} from ${fromVersion} via ${servers.length} server(s)`);
          return {
            config: { members: [], voters: [], version: fromVersion },
            alreadyApplied: false,
            connectionLost: false,
          };
        },
        remove: async (myid, fromVersion) => {
          this.writes.push(`reconfig remove ${myid} from ${fromVersion}`);
          return {
            config: { members: [], voters: [], version: fromVersion },
            alreadyApplied: false,
            connectionLost: false,
          };
        },
        commitWrite: async () => {
          this.writes.push('commit write');
        },
      }),
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
        metadata: {
          name: `example-${ordinal}`,
          uid: `uid-${ordinal}-${revision}`,
          annotations: { [REVISION_ANNOTATION]: revision },
          creationTimestamp: new Date('2026-11-25T11:00:00Z'),
        },
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
    'create Secret/example-super-user',
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
  t.deepEqual(outcome, { requeueAfterMs: 2_000 }, 'look again soon while the ensemble forms');
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
  t.deepEqual(outcome, { requeueAfterMs: 30_000 }, 'a healthy cluster is only re-checked now and then');
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
  t.deepEqual(world.writes, [
    'create Secret/example-super-user',
    'apply ConfigMap/example-config',
    'status example Creating',
  ]);
  t.regex(world.events.join('\n'), /Warning PermissionDenied: the operator lacks a permission: .*patch.*configmaps/);
  t.is(world.clusterObject?.status?.conditions?.find((c) => c.type === 'Degraded')?.reason, 'PermissionDenied');
});

test('a changed config restarts one member per reconcile: followers first, the leader last', async (t) => {
  const world = new World(cluster());
  await world.reconcile();
  world.addReadyPods(3, renderCluster({ cluster: cluster(), bootstrap: true }).revision);
  await world.reconcile();
  world.clusterObject = { ...cluster({ config: { tickTime: '3000' } }), status: world.clusterObject?.status ?? {} };
  const newRevision = renderCluster({ cluster: world.clusterObject, bootstrap: false }).revision;
  const deleted: string[] = [];
  for (let round = 0; round < 3; round++) {
    world.writes.length = 0;
    await world.reconcile();
    const deletion = world.writes.find((w) => w.startsWith('delete pod'));
    t.truthy(deletion, `round ${round} restarts a member`);
    const name = /delete pod (\S+)/.exec(deletion ?? '')?.[1] ?? '';
    deleted.push(name);
    // The StatefulSet controller and kubelet bring it back on the new revision, serving.
    const pod = world.pods.find((p) => p.metadata?.name === name);
    if (pod?.metadata)
      pod.metadata = { ...pod.metadata, uid: `${name}-new`, annotations: { [REVISION_ANNOTATION]: newRevision } };
  }
  t.deepEqual(deleted, ['example-1', 'example-0', 'example-2']);
  t.regex(world.events.join('\n'), /Normal RestartingLeader: restarting the leader example-2 last/);
  world.writes.length = 0;
  await world.reconcile();
  t.false(
    world.writes.some((w) => w.startsWith('delete pod')),
    'the roll is done',
  );
  t.is(world.clusterObject.status?.phase, 'Running');
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

test('scaling a formed ensemble up starts with one more pod, and says so', async (t) => {
  const world = new World(cluster({ replicas: 3 }));
  await world.reconcile();
  world.addReadyPods(3, renderCluster({ cluster: cluster(), bootstrap: true }).revision);
  await world.reconcile();
  world.clusterObject = { ...cluster({ replicas: 5 }), status: world.clusterObject?.status ?? {} };
  world.events.length = 0;
  await world.reconcile();
  t.is((world.objects.get('StatefulSet/example') as V1StatefulSet).spec?.replicas, 4, 'one joiner at a time');
  t.is(
    (world.objects.get('ConfigMap/example-config') as V1ConfigMap).data?.['zoo.cfg.dynamic']?.trim().split('\n').length,
    3,
    'new pods start with the committed voters (plus themselves)',
  );
  t.regex(world.events.join('\n'), /^Normal \w+: .*/m);
  t.like(world.clusterObject.status, { phase: 'Scaling', operation: { kind: 'ScaleUp' } });
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
