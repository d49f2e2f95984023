/**
 * The harness's kube-apiserver restart (controlplane.ts `restartKubeApiserver`): the new process
 * serves on the same address from the same etcd with the same certificates, so existing clients
 * and their kubeconfigs go on working, and a stop afterwards leaves no process and no work dir.
 * And its supervision of kube-scheduler and kube-controller-manager: one that dies is started
 * again, as a kubelet restarts static pods. Control planes of their own: restarting or killing
 * parts of the run's shared one would disturb every other file.
 */
import { existsSync } from 'node:fs';
import { CoreV1Api } from '@kubernetes/client-node';
import test from 'ava';
import { startControlPlane } from '../harness/controlplane.js';
import { pollUntil } from '../harness/poll.js';
import { namesDirectory, readProcessTable } from '../harness/process-table.js';

/** Pids of the `binary` processes (e.g. kube-apiserver) started for the control plane in `workDir`. */
function pidsOf(binary: string, workDir: string): number[] {
  return readProcessTable()
    .filter((entry) => entry.argv.some((arg) => arg.endsWith(`/${binary}`)) && namesDirectory(entry, workDir))
    .map((entry) => entry.pid);
}

const apiserverPids = (workDir: string) => pidsOf('kube-apiserver', workDir);

test.serial(
  'kube-apiserver restarted on its port: the same clients read the same data; the stop leaves nothing',
  async (t) => {
    const plane = await startControlPlane({ crdDirectory: null });
    t.teardown(() => plane.stop());
    const core = plane.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'before-restart' }, data: { kept: 'yes' } },
    });
    const [before] = apiserverPids(plane.workDir);

    const restart = await plane.restartKubeApiserver({ downForMs: 1_000 });
    t.log(`down ${restart.readyAt - restart.stoppedAt} ms`);

    t.true(restart.readyAt - restart.stoppedAt >= 1_000, 'it stayed down as long as asked');
    const after = apiserverPids(plane.workDir);
    t.is(after.length, 1, 'one kube-apiserver: the old one is gone');
    t.not(after[0], before, 'a new process');
    const read = await core.readNamespacedConfigMap({ namespace: 'default', name: 'before-restart' });
    t.is(read.data?.kept, 'yes', 'the client made before the restart reads what was written before it');

    await plane.stop();
    t.deepEqual(apiserverPids(plane.workDir), [], 'no kube-apiserver left after the stop');
    t.false(existsSync(plane.workDir), 'the work dir is removed');
  },
);

test.serial(
  'kube-scheduler and kube-controller-manager killed: each is started again and serves; the stop leaves nothing',
  async (t) => {
    const plane = await startControlPlane({ crdDirectory: null });
    t.teardown(() => plane.stop());
    const core = plane.kubeConfig.makeApiClient(CoreV1Api);
    const components = ['kube-scheduler', 'kube-controller-manager'];
    const before = new Map(components.map((component) => [component, pidsOf(component, plane.workDir)]));
    for (const component of components) t.is(before.get(component)?.length, 1, `one ${component} before the kill`);

    for (const component of components) process.kill(before.get(component)?.[0] ?? 0, 'SIGKILL');
    const restarts = await pollUntil(
      'both to be started again',
      async () => (plane.supervisedRestarts().length >= 2 ? plane.supervisedRestarts() : undefined),
      { timeoutMs: 90_000 },
    );
    for (const restarted of restarts) {
      t.log(`${restarted.component} ${restarted.exit}; ready again ${restarted.readyAt - restarted.exitedAt} ms later`);
    }
    t.deepEqual(restarts.map((r) => r.component).sort(), [...components].sort());
    t.true(restarts.every((r) => r.exit === 'killed by SIGKILL'));
    for (const component of components) {
      const after = pidsOf(component, plane.workDir);
      t.is(after.length, 1, `one ${component} after the restart`);
      t.false(before.get(component)?.includes(after[0] ?? 0), `${component} is a new process`);
    }
    // The new kube-controller-manager runs its controllers: the namespace controller finishes a deletion.
    await core.createNamespace({ body: { metadata: { name: 'after-restart' } } });
    await core.deleteNamespace({ name: 'after-restart' });
    await pollUntil(
      'the namespace controller to remove the deleted namespace',
      async () =>
        (await core.listNamespace()).items.some((n) => n.metadata?.name === 'after-restart') ? undefined : true,
      { timeoutMs: 60_000 },
    );

    await plane.stop();
    for (const component of components) t.deepEqual(pidsOf(component, plane.workDir), [], `no ${component} left`);
    t.false(existsSync(plane.workDir), 'the work dir is removed');
  },
);
