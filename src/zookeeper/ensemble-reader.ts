/**
 * Reads every member of an ensemble over its client port (4lw `srvr`, `mntr`, `conf`), by pod
 * IP as any in-cluster client would. The I/O edge of health: every failure becomes part of the
 * reading (unreachable, or not serving), never an exception, so one bad member cannot hide the
 * others.
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

export interface EnsembleReader {
  read(members: readonly MemberAddress[], clientPort: number): Promise<MemberReading[]>;
}

export function fourLetterWordReader(timeoutMs = 3_000): EnsembleReader {
  return {
    read: (members, clientPort) => Promise.all(members.map((member) => readMember(member, clientPort, timeoutMs))),
  };
}

async function readMember(member: MemberAddress, clientPort: number, timeoutMs: number): Promise<MemberReading> {
  const { pod, myid, ip } = member;
  if (ip === undefined) return { pod, myid, unreachable: 'the pod has no IP yet' };
  try {
    const [srvr, mntr, conf] = await Promise.all([
      askFourLetterWord(ip, clientPort, 'srvr', timeoutMs),
      askFourLetterWord(ip, clientPort, 'mntr', timeoutMs),
      askFourLetterWord(ip, clientPort, 'conf', timeoutMs),
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
