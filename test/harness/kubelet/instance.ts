// Identity of one process-kubelet instance on this machine: a short random id that names its
// bridge, namespaces and veths (`pkl-<id>`, `pkl-<id>-<n>`), picks its pod /24, and is recorded
// in /run/process-kubelet/<prefix>.json with the kubelet's pid. A record whose process is gone
// marks a crashed run; its namespaces, links and processes are removed before a new one starts.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deleteInstanceNetwork, linksNamed, type PodSubnet, subnetClash, subnetForInstance } from './network.js';

const RECORD_DIR = '/run/process-kubelet';
const NAME_PREFIX = 'pkl-';

export interface KubeletInstance {
  id: string;
  /** Prefix of every namespace and link of this instance; also the bridge's name. */
  prefix: string;
  subnet: PodSubnet;
  recordPath: string;
}

interface InstanceRecord {
  pid: number;
  processStartTime: string;
}

/** Field 22 of /proc/<pid>/stat, so a recycled pid is not mistaken for the recorded process. */
async function processStartTime(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

async function isRecordedProcessAlive(record: InstanceRecord): Promise<boolean> {
  return (await processStartTime(record.pid)) === record.processStartTime;
}

/** Removes the namespaces, links, processes and records of instances whose kubelet process is dead. */
export async function removeStaleInstances(): Promise<string[]> {
  const removed: string[] = [];
  const entries = await readdir(RECORD_DIR).catch(() => []);
  for (const entry of entries.filter((name) => name.startsWith(NAME_PREFIX) && name.endsWith('.json')).sort()) {
    const recordPath = join(RECORD_DIR, entry);
    const record = JSON.parse(await readFile(recordPath, 'utf8')) as InstanceRecord;
    if (await isRecordedProcessAlive(record)) continue;
    const prefix = entry.slice(0, -'.json'.length);
    await deleteInstanceNetwork(prefix);
    await rm(recordPath, { force: true });
    removed.push(prefix);
  }
  return removed;
}

/** Picks a fresh id whose names and /24 are unused on this machine and records it for this process. */
export async function claimInstance(): Promise<KubeletInstance> {
  await mkdir(RECORD_DIR, { recursive: true });
  const clashes: string[] = [];
  for (let attempt = 0; attempt < 16; attempt++) {
    const id = randomBytes(3).toString('hex');
    const prefix = `${NAME_PREFIX}${id}`;
    const subnet = subnetForInstance(id);
    const clash = (await linksNamed(prefix)).length > 0 ? `links named ${prefix}* exist` : await subnetClash(subnet);
    if (clash) {
      clashes.push(clash);
      continue;
    }
    const recordPath = join(RECORD_DIR, `${prefix}.json`);
    const record: InstanceRecord = {
      pid: process.pid,
      processStartTime: (await processStartTime(process.pid)) ?? '',
    };
    try {
      await writeFile(recordPath, `${JSON.stringify(record)}\n`, { flag: 'wx' });
    } catch (error) {
      clashes.push(`${recordPath}: ${(error as Error).message}`);
      continue;
    }
    return { id, prefix, subnet, recordPath };
  }
  throw new Error(`no free process-kubelet instance id after 16 tries: ${clashes.join('; ')}`);
}

/** Removes everything the instance created in the root namespace and its record. */
export async function releaseInstance(instance: KubeletInstance): Promise<void> {
  await deleteInstanceNetwork(instance.prefix);
  await rm(instance.recordPath, { force: true });
}

/** Synchronous last resort at process exit: SIGKILL every pod process, delete the namespaces,
 * the bridge, the /etc/netns files and the record. Errors are ignored: nothing can be retried. */
export function releaseInstanceNow(instance: KubeletInstance): void {
  const run = (args: string[]): string => {
    try {
      return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      return '';
    }
  };
  const namespaces = run(['netns', 'list'])
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(instance.prefix));
  for (const netns of namespaces) {
    for (const pid of run(['netns', 'pids', netns]).split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    run(['netns', 'delete', netns]);
    rmSync(`/etc/netns/${netns}`, { recursive: true, force: true });
  }
  run(['link', 'delete', instance.prefix]);
  const netnsFiles = existsSync('/etc/netns') ? readdirSync('/etc/netns') : [];
  for (const entry of netnsFiles.filter((name) => name.startsWith(instance.prefix))) {
    rmSync(`/etc/netns/${entry}`, { recursive: true, force: true });
  }
  rmSync(instance.recordPath, { force: true });
}
