// Identity of one process-kubelet instance on this machine: a short random id that names its
// bridge, namespaces and veths (`pkl-<id>`, `pkl-<id>-<n>`), picks its pod /24, and is recorded
// in /run/process-kubelet/<prefix>.json with the kubelet's pid and start time. The record is
// written before any of those names exist and removed after they are gone, so names whose record
// names a dead process, or (older than a minute) names without a record, are what a killed run
// left; the sweep (leftovers.ts) removes them, with every process still inside the namespaces.
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isAlive, parseIdentity, thisProcess } from '../process-table.js';
import {
  LINKS_DIR,
  linksNamed,
  listDir,
  NETNS_DIR,
  NETNS_FILES_DIR,
  type NetworkRemoval,
  type PodSubnet,
  removeInstanceNetworksNow,
  subnetClash,
  subnetForInstance,
} from './network.js';

const RECORD_DIR = '/run/process-kubelet';
const NAME_PREFIX = 'pkl-';
/** `pkl-<6 hex digits>`, the part of every name of an instance that names the instance. */
const INSTANCE_NAME = /^pkl-[0-9a-f]{6}(?=$|-)/;
/** A record younger than this that cannot be parsed may be one being written right now. */
const RECORD_WRITE_GRACE_MS = 60_000;
/** Names without any record are left alone until they are this old. */
const ORPHAN_NAME_AGE_MS = 60_000;

export interface KubeletInstance {
  id: string;
  /** Prefix of every namespace and link of this instance; also the bridge's name. */
  prefix: string;
  subnet: PodSubnet;
  recordPath: string;
}

/** What `sweepDeadInstances` removed. */
export interface InstanceSweep extends NetworkRemoval {
  /** Prefixes of the instances it removed. */
  prefixes: string[];
  records: string[];
  /** Instances of dead kubelets it could not remove, each with why. */
  notRemoved: string[];
}

/** Whether the record at `path` belongs to a live kubelet. */
function recordIsLive(path: string): boolean {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return false;
  }
  const owner = parseIdentity(text);
  if (owner !== undefined) return isAlive(owner);
  // Unparsable: cut short by a crash, or being written this instant by a starting kubelet.
  try {
    return Date.now() - statSync(path).mtimeMs < RECORD_WRITE_GRACE_MS;
  } catch {
    return false;
  }
}

/**
 * Removes, synchronously, the namespaces, links, /etc/netns dirs, processes and records of every
 * instance whose kubelet is dead, and of instances that have names but no record at all (a run of
 * older harness code, or a removal that failed half-way) once those names are older than
 * ORPHAN_NAME_AGE_MS. Names are listed before records: a live instance writes its record before it
 * makes a name (claimInstance, then createBridge) and removes it only after its names are gone, so
 * a name seen first has a record by the time records are read; the age is a second guard. A
 * record-less bridge alone cannot be dated (sysfs shows no creation time) and goes at once.
 * An instance that cannot be removed keeps its record, is named in `notRemoved`, and the next
 * sweep tries again.
 */
export function sweepDeadInstances(now = Date.now()): InstanceSweep {
  const named = new Map<string, number | undefined>();
  for (const dir of [NETNS_DIR, LINKS_DIR, NETNS_FILES_DIR]) {
    for (const name of listDir(dir)) {
      const instance = INSTANCE_NAME.exec(name)?.[0];
      if (instance === undefined) continue;
      // /run/netns entries and /etc/netns dirs carry their creation time; /sys/class/net entries do not.
      const created = dir === LINKS_DIR ? undefined : mtimeOf(join(dir, name));
      const known = named.get(instance);
      named.set(instance, known === undefined ? created : Math.min(known, created ?? known));
    }
  }
  const records = new Map<string, string>();
  for (const entry of listDir(RECORD_DIR)) {
    if (entry.startsWith(NAME_PREFIX) && entry.endsWith('.json')) {
      records.set(entry.slice(0, -'.json'.length), join(RECORD_DIR, entry));
    }
  }
  const dead = [...new Set([...named.keys(), ...records.keys()])]
    .filter((prefix) => {
      const record = records.get(prefix);
      if (record !== undefined) return !recordIsLive(record);
      const created = named.get(prefix);
      return created === undefined || now - created >= ORPHAN_NAME_AGE_MS;
    })
    .sort();
  const sweep: InstanceSweep = {
    killedPids: [],
    namespaces: [],
    links: [],
    netnsDirs: [],
    prefixes: [],
    records: [],
    notRemoved: [],
  };
  for (const prefix of dead) {
    let removal: NetworkRemoval;
    try {
      removal = removeInstanceNetworksNow([prefix]);
    } catch (error) {
      sweep.notRemoved.push(`${prefix}, left by a kubelet that is gone: ${(error as Error).message}`);
      continue;
    }
    sweep.killedPids.push(...removal.killedPids);
    sweep.namespaces.push(...removal.namespaces);
    sweep.links.push(...removal.links);
    sweep.netnsDirs.push(...removal.netnsDirs);
    sweep.prefixes.push(prefix);
    const record = records.get(prefix);
    if (record === undefined) continue;
    rmSync(record, { force: true });
    sweep.records.push(record);
  }
  return sweep;
}

function mtimeOf(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
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
    const record = thisProcess();
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

/** Removes everything the instance made in the root namespace (see removeInstanceNetworksNow), then its record. */
export async function releaseInstance(instance: KubeletInstance): Promise<void> {
  releaseInstanceNow(instance);
}

/**
 * The same, synchronous, for the exit path: SIGKILLs every pod process, deletes the namespaces,
 * the bridge and the /etc/netns dirs, then the record. If something stays, the record stays too
 * (its owner is dead by then, so the next start sweeps what is left) and the error says what.
 */
export function releaseInstanceNow(instance: KubeletInstance): void {
  removeInstanceNetworksNow([instance.prefix]);
  rmSync(instance.recordPath, { force: true });
}
