/**
 * The harness's kube-apiserver restart (controlplane.ts `restartKubeApiserver`): the new process
 * serves on the same address from the same etcd with the same certificates, so existing clients
 * and their kubeconfigs go on working, and a stop afterwards leaves no process and no work dir.
 * A control plane of its own: restarting the run's shared one would disturb every other file.
 */
import { existsSync } from 'node:fs';
import { CoreV1Api } from '@kubernetes/client-node';
import test from 'ava';
import { startControlPlane } from '../harness/controlplane.js';
import { namesDirectory, readProcessTable } from '../harness/process-table.js';

/** Pids of the kube-apiserver processes started for the control plane in `workDir`. */
function apiserverPids(workDir: string): number[] {
  return readProcessTable()
    .filter((entry) => entry.argv.some((arg) => arg.endsWith('/kube-apiserver')) && namesDirectory(entry, workDir))
    .map((entry) => entry.pid);
}

test('kube-apiserver restarted on its port: the same clients read the same data; the stop leaves nothing', async (t) => {
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
});
