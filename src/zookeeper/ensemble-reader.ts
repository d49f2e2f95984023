/**
 * Reads every member of an ensemble, by pod IP as any in-cluster client would: 4lw `srvr`,
 * `mntr` and `conf` on the client port, or over TLS on the secure client port for a member that
 * serves it, words the members' whitelist allows, and nothing else (the AdminServer serves the
 * member's own loopback only). A member to be read over TLS is read over TLS or not at all. The
 * I/O edge of health: every failure becomes part of the reading (unreachable, or not serving),
 * never an exception, so one bad member cannot hide the others.
 *
 * All three words are needed, each for what only it says: `srvr` the zxid and its epoch (a member
 * ahead of the leader's epoch; a reconfig made active), `mntr` the peer state and the leader's
 * sync counts, `conf` the committed membership and its version.
 *
 * What reading costs is bounded: a member's reading is reused for `maxAgeMs` (1 s by default),
 * counted from when it was asked, so reconciles that events trigger in a burst ask each member at
 * most once a second, however many there are; client traffic never triggers one. A reused reading
 * is at most a second old, and the reconciler's 2 s poll, with no reconcile in between, always
 * reads anew. A read with `fresh` reuses nothing: the reconciler decides every step that changes
 * the ensemble on one.
 */

import { askFourLetterWord } from './four-letter-word.js';
import type { MemberReading } from './health.js';
import { parseConf, parseMntr, parseSrvr } from './readings.js';
import type { TlsTarget } from './transport.js';

/** A member's secure client port and how to speak TLS to it. */
export interface SecureClientPort extends TlsTarget {
  port: number;
}

export interface MemberAddress {
  pod: string;
  myid: number;
  /** Undefined while the pod has no IP yet. */
  ip: string | undefined;
  /** Given for a member that serves TLS: it is read there, never at `MemberPorts.client`. */
  tls?: SecureClientPort;
}

export interface MemberPorts {
  /** The plaintext client port of members without `tls`. */
  client: number;
}

export interface ReadOptions {
  /** Ask every member now, reusing no earlier reading. */
  fresh?: boolean;
}

export interface EnsembleReader {
  read(members: readonly MemberAddress[], ports: MemberPorts, options?: ReadOptions): Promise<MemberReading[]>;
}

/** How long a member's reading is reused: half the reconciler's 2 s poll. */
export const READING_MAX_AGE_MS = 1_000;

export interface MemberStateReaderOptions {
  /** Per word. */
  timeoutMs?: number;
  /** How long a member's reading is reused; 0 reuses none. */
  maxAgeMs?: number;
  /** Monotonic milliseconds (`performance.now()`). */
  monotonicMs?: () => number;
}

/** Reads 4lw `srvr`, `mntr` and `conf` on each member's client port, reusing a reading for `maxAgeMs`. */
export function memberStateReader(options: MemberStateReaderOptions = {}): EnsembleReader {
  const timeoutMs = options.timeoutMs ?? 3_000;
  const maxAgeMs = options.maxAgeMs ?? READING_MAX_AGE_MS;
  const monotonicMs = options.monotonicMs ?? (() => performance.now());
  // Keyed by everything that names the member: a new pod IP (a new incarnation) is a new member.
  const recent = new Map<string, { askedAtMs: number; reading: Promise<MemberReading> }>();
  return {
    read: (members, ports, readOptions = {}) => {
      const now = monotonicMs();
      for (const [key, entry] of recent) if (now - entry.askedAtMs >= maxAgeMs) recent.delete(key);
      return Promise.all(
        members.map((member) => {
          const { tls } = member;
          const key = `${member.pod}/${member.myid}@${member.ip}:${tls?.port ?? ports.client}${tls ? ` as ${tls.serverName}` : ''}`;
          const reused = readOptions.fresh ? undefined : recent.get(key);
          if (reused !== undefined) return reused.reading;
          const reading = readMember(member, ports, timeoutMs);
          if (member.ip !== undefined && maxAgeMs > 0) recent.set(key, { askedAtMs: now, reading });
          return reading;
        }),
      );
    },
  };
}

/** Reads one member; never throws: a failure is part of the reading. */
export async function readMember(member: MemberAddress, ports: MemberPorts, timeoutMs: number): Promise<MemberReading> {
  const { pod, myid, ip, tls } = member;
  if (ip === undefined) return { pod, myid, unreachable: 'the pod has no IP yet' };
  const port = tls?.port ?? ports.client;
  try {
    const [srvr, mntr, conf] = await Promise.all([
      askFourLetterWord(ip, port, 'srvr', timeoutMs, tls),
      askFourLetterWord(ip, port, 'mntr', timeoutMs, tls),
      askFourLetterWord(ip, port, 'conf', timeoutMs, tls),
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
