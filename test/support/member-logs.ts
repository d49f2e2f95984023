/**
 * Four-letter words each member served, counted from its own log: ZooKeeper logs every word it
 * serves with the asker's address ("Processing srvr command from /10.x.y.1:port"). An operator
 * running on the host asks from the pod's host IP; the probes ask from 127.0.0.1 inside the pod
 * and are not counted.
 */
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';

/**
 * The container log files of `pod`, where the process kubelet keeps them: in its work dir
 * (`zkop-kubelet-…` under $TMPDIR), `logs/<namespace>_<pod>_<uid>/zookeeper/<restart>.log`
 * (test/harness/kubelet/index.ts). The namespace is this test's own, so the match is unique.
 */
async function memberLogs(pod: V1Pod): Promise<string[]> {
  const podDir = `${pod.metadata?.namespace}_${pod.metadata?.name}_${pod.metadata?.uid}`;
  for (const entry of await readdir(tmpdir())) {
    if (!entry.startsWith('zkop-kubelet-')) continue;
    const dir = join(tmpdir(), entry, 'logs', podDir, 'zookeeper');
    const runs = await readdir(dir).catch(() => [] as string[]);
    if (runs.length > 0) return runs.map((run) => join(dir, run));
  }
  throw new Error(`no container log of pod ${podDir} under ${tmpdir()}/zkop-kubelet-*/logs`);
}

/** Four-letter words each member has served to the operator so far (asked from the pod's host IP). */
export async function operatorWords(pods: readonly V1Pod[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const pod of pods) {
    const hostIP = pod.status?.hostIP;
    if (hostIP === undefined) throw new Error(`pod ${pod.metadata?.name} has no host IP`);
    const asker = new RegExp(`Processing (srvr|mntr|conf) command from /${hostIP.replaceAll('.', '\\.')}:`);
    let words = 0;
    for (const file of await memberLogs(pod)) {
      words += (await readFile(file, 'utf8')).split('\n').filter((line) => asker.test(line)).length;
    }
    counts.set(pod.metadata?.name ?? '', words);
  }
  return counts;
}
