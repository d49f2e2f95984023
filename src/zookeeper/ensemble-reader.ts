/**
 * Reads every member of an ensemble, by pod IP as any in-cluster client would: 4lw `srvr`,
 * `mntr` and `conf` on the client port, words the members' whitelist allows, and nothing else
 * (the AdminServer serves the member's own loopback only). The I/O edge of health: every failure
 * becomes part of the reading (unreachable, or not serving), never an exception, so one bad
 * member cannot hide the others.
 */

import { askFourLetterWord } from './four-letter-word.js';
import type { MemberReading } from './health.js';
import { parseConf, parseMntr, parseSrvr } from './readings.js';

export interface MemberAddress {
  pod: string;
  myid: number;
  /** Undefined while the pod has no IP yet. */
  ip: string | undefined;
}

export interface MemberPorts {
  client: number;
}

export interface EnsembleReader {
  read(members: readonly MemberAddress[], ports: MemberPorts): Promise<MemberReading[]>;
}

/** Reads 4lw `srvr`, `mntr` and `conf` on each member's client port. */
export function memberStateReader(timeoutMs = 3_000): EnsembleReader {
  return {
    read: (members, ports) => Promise.all(members.map((member) => readMember(member, ports, timeoutMs))),
  };
}

/** Reads one member; never throws: a failure is part of the reading. */
export async function readMember(member: MemberAddress, ports: MemberPorts, timeoutMs: number): Promise<MemberReading> {
  const { pod, myid, ip } = member;
  if (ip === undefined) return { pod, myid, unreachable: 'the pod has no IP yet' };
  try {
    const [srvr, mntr, conf] = await Promise.all([
      askFourLetterWord(ip, ports.client, 'srvr', timeoutMs),
      askFourLetterWord(ip, ports.client, 'mntr', timeoutMs),
      askFourLetterWord(ip, ports.client, 'conf', timeoutMs),
    ]);
    const parsed = { srvr: parseSrvr(srvr), mntr: parseMntr(mntr), conf: parseConf(conf) };
    return {
      pod,
      myid,
      ...(parsed.srvr ? { srvr: parsed.srvr } : {}),
      ...(parsed.mntr ? { mntr: parsed.mntr } : {}),
      ...(parsed.conf ? { conf: parsed.conf } : {}),
    };
  } catch (error) {
    return { pod, myid, unreachable: (error as Error).message };
  }
}
