/**
 * Two operator processes (the real entry point, under the chart's RBAC) against the real
 * control plane: only the Lease holder acts, and killing it hands over to the standby.
 */
import { CoordinationV1Api, CoreV1Api } from '@kubernetes/client-node';
import test from 'ava';
import { controlPlane, newNamespace } from '../harness/fixture.js';
import { pollUntil } from '../harness/poll.js';
import { createCluster } from '../support/clusters.js';
import { grantLeaderElection, type OperatorProcess, startOperatorProcess } from '../support/operator.js';

async function configMapCreated(namespace: string, cluster: string, timeoutMs: number) {
  const core = (await controlPlane()).kubeConfig.makeApiClient(CoreV1Api);
  return pollUntil(
    `ConfigMap ${cluster}-config`,
    () => core.readNamespacedConfigMap({ namespace, name: `${cluster}-config` }),
    {
      timeoutMs,
    },
  );
}

/** A Lease timestamp in ms; NaN when absent, which fails every comparison. */
const millis = (time: Date | string | undefined): number =>
  time === undefined ? Number.NaN : new Date(time).getTime();

test('two operators: only the lease holder acts, and the standby takes over when it dies', async (t) => {
  const namespace = await newNamespace(t);
  await grantLeaderElection(namespace);
  const first = await startOperatorProcess(namespace);
  const second = await startOperatorProcess(namespace);
  t.teardown(() => {
    first.child.kill('SIGKILL');
    second.child.kill('SIGKILL');
  });
  const identities = await Promise.all([first.identity, second.identity]);
  const leases = (await controlPlane()).kubeConfig.makeApiClient(CoordinationV1Api);
  const holder = await pollUntil(
    'a lease holder',
    async () =>
      (await leases.readNamespacedLease({ namespace, name: 'zookeeper-operator' })).spec?.holderIdentity || undefined,
    { timeoutMs: 30_000 },
  );
  t.true(identities.includes(holder));
  const [leader, standby] = holder === identities[0] ? [first, second] : [second, first];

  await createCluster(namespace, 'one', { replicas: 1, storage: { ephemeral: true } });
  await configMapCreated(namespace, 'one', 15_000);
  const acted = (p: OperatorProcess) => p.output.some((line) => line.includes('created ConfigMap'));
  // Its log line may still be in the pipe when the object is already visible.
  const loggedAction = (p: OperatorProcess) =>
    pollUntil('the log line of the action', async () => (acted(p) ? true : undefined), { timeoutMs: 10_000 });
  t.true(await loggedAction(leader), 'the leader created the objects');
  t.false(acted(standby), 'the standby did nothing');

  const beforeKill = (await leases.readNamespacedLease({ namespace, name: 'zookeeper-operator' })).spec;
  const leaseMs = (beforeKill?.leaseDurationSeconds ?? Number.NaN) * 1000;
  leader.child.kill('SIGKILL');
  const killedAt = Date.now();
  const newHolder = await pollUntil(
    'the standby to hold the lease',
    async () => {
      const lease = await leases.readNamespacedLease({ namespace, name: 'zookeeper-operator' });
      return lease.spec?.holderIdentity === (await standby.identity) ? lease : undefined;
    },
    { timeoutMs: 40_000 },
  );
  const takeoverMs = Date.now() - killedAt;
  t.log(`standby took over ${takeoverMs} ms after the leader was killed`);
  t.true((newHolder.spec?.leaseTransitions ?? 0) >= 1);
  // Never two holders: the standby acquired only once the lease, as last renewed, had lapsed.
  // (Had the leader renewed once more after that read, the check is looser, never wrong.)
  t.true(
    millis(newHolder.spec?.acquireTime) >= millis(beforeKill?.renewTime) + leaseMs,
    `acquired at ${newHolder.spec?.acquireTime}, the ${leaseMs} ms lease was renewed at ${beforeKill?.renewTime}`,
  );
  // Only tells "when the lease lapsed" from "never, or at some later resync": scheduling delays
  // on a loaded 2-core machine stretch the retry ticks (18.5 s seen idle), so a second lease
  // duration is allowed.
  t.true(takeoverMs < 2 * leaseMs, 'once the lease lapsed');
  await createCluster(namespace, 'two', { replicas: 1, storage: { ephemeral: true } });
  await configMapCreated(namespace, 'two', 15_000);
  t.true(await loggedAction(standby), 'the new leader acts');
});

test('a graceful stop releases the lease so the standby takes over at once', async (t) => {
  const namespace = await newNamespace(t);
  await grantLeaderElection(namespace);
  const first = await startOperatorProcess(namespace);
  await first.identity;
  const leases = (await controlPlane()).kubeConfig.makeApiClient(CoordinationV1Api);
  await pollUntil(
    'the first operator to hold the lease',
    async () =>
      (await leases.readNamespacedLease({ namespace, name: 'zookeeper-operator' })).spec?.holderIdentity || undefined,
    { timeoutMs: 30_000 },
  );
  const second = await startOperatorProcess(namespace);
  t.teardown(() => {
    first.child.kill('SIGKILL');
    second.child.kill('SIGKILL');
  });
  await second.identity;
  const exited = new Promise<number | null>((resolve) => first.child.once('exit', resolve));
  const beforeStop = (await leases.readNamespacedLease({ namespace, name: 'zookeeper-operator' })).spec;
  first.child.kill('SIGTERM');
  t.is(await exited, 0, 'a graceful stop exits 0');
  const stoppedAt = Date.now();
  const taken = await pollUntil(
    'the standby to hold the lease',
    async () => {
      const lease = await leases.readNamespacedLease({ namespace, name: 'zookeeper-operator' });
      return lease.spec?.holderIdentity === (await second.identity) ? lease : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 100 },
  );
  t.log(`standby took over ${Date.now() - stoppedAt} ms after a graceful stop`);
  // Released, not lapsed: acquired before the lease, as renewed before the stop, could expire.
  // (Had the leader renewed once more after that read, the check is stricter, never wrong.)
  const leaseMs = (beforeStop?.leaseDurationSeconds ?? Number.NaN) * 1000;
  t.true(
    millis(taken.spec?.acquireTime) < millis(beforeStop?.renewTime) + leaseMs,
    `acquired at ${taken.spec?.acquireTime}, the ${leaseMs} ms lease was renewed at ${beforeStop?.renewTime}: no wait for it to expire`,
  );
});
