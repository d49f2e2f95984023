/**
 * What a killed run left behind (dev-cluster or a test process ended by SIGKILL, so no handler
 * ran): its pods' processes, which run on, their network namespaces, veths and bridge, their
 * /etc/netns dirs, the kubelet record in /run/process-kubelet, its work dirs under the temp dir
 * and the control-plane processes still using them. A new dev cluster sweeps them before it
 * starts. Only what belongs to a dead owner goes (a kubelet record or work-dir owner file names
 * a process that is gone, or a kubelet's names have had no record for a minute, see
 * kubelet/instance.ts); several live runs side by side keep everything of theirs. What cannot be
 * removed is reported and left for the next start; it never keeps this one from starting.
 */
import { sweepDeadInstances } from './kubelet/instance.js';
import { sweepDeadWorkDirs } from './work-dir.js';

export interface Leftovers {
  /** What it had to leave in place (each with why); the next sweep tries again. */
  readonly notRemoved: readonly string[];
  readonly processes: number;
  readonly networkNamespaces: number;
  readonly links: number;
  readonly netnsDirs: number;
  readonly kubeletRecords: number;
  readonly workDirs: number;
}

/** Removes what dead runs left and says how much of each kind. */
export async function sweepLeftovers(): Promise<Leftovers> {
  // Network first: its pass over /proc finds the pods' processes by namespace, the surest sign.
  const network = sweepDeadInstances();
  const workDirs = await sweepDeadWorkDirs();
  return {
    notRemoved: [...network.notRemoved, ...workDirs.notRemoved],
    processes: new Set([...network.killedPids, ...workDirs.killedPids]).size,
    networkNamespaces: network.namespaces.length,
    links: network.links.length,
    netnsDirs: network.netnsDirs.length,
    kubeletRecords: network.records.length,
    workDirs: workDirs.workDirs.length,
  };
}

/**
 * The sweep as a start runs it: says what it removed and what it could not, and never throws,
 * since what a dead run left must not keep a new one from starting.
 */
export async function sweepLeftoversBeforeStart(log: (line: string) => void): Promise<void> {
  let leftovers: Leftovers;
  try {
    leftovers = await sweepLeftovers();
  } catch (error) {
    log(`could not sweep what killed runs left (the next start tries again): ${(error as Error).message}`);
    return;
  }
  const swept = describeLeftovers(leftovers);
  if (swept !== undefined) log(`swept what a killed run left: ${swept}`);
  for (const line of leftovers.notRemoved) log(`not swept (the next start tries again): ${line}`);
}

/** `12 processes, 3 network namespaces, 2 work dirs`, or undefined when nothing was left. */
export function describeLeftovers(leftovers: Leftovers): string | undefined {
  const counts: [number, string, string][] = [
    [leftovers.processes, 'process', 'processes'],
    [leftovers.networkNamespaces, 'network namespace', 'network namespaces'],
    [leftovers.links, 'link', 'links'],
    [leftovers.netnsDirs, '/etc/netns dir', '/etc/netns dirs'],
    [leftovers.kubeletRecords, 'kubelet record', 'kubelet records'],
    [leftovers.workDirs, 'work dir', 'work dirs'],
  ];
  const parts = counts
    .filter(([count]) => count > 0)
    .map(([count, one, many]) => `${count} ${count === 1 ? one : many}`);
  return parts.length === 0 ? undefined : parts.join(', ');
}
