/**
 * A ZooKeeper client that writes sequential znodes without pause during a disruptive
 * operation, then proves that every acknowledged write survived. It also measures how long
 * writes could not be acknowledged (the longest gap between two acknowledgements).
 *
 * Members come back with new pod IPs after a restart and the test has no cluster DNS, so the
 * writer opens a new session with the addresses of the members Ready now (as a client
 * resolving the Service's name again would): when its connection dropped, or when writes stall
 * while the set of Ready members changed.
 */

import { returnCodeOf } from '../../src/zookeeper/reconfig-client.js';
import { ZooKeeperSession } from '../../src/zookeeper/session.js';
import { CREATE_MODE, ERROR_CODE } from '../../src/zookeeper/wire-protocol.js';
import { pollUntil } from '../harness/poll.js';

/** Opens a session with the members a connect string names. */
export type SessionOpener = (connectString: string) => Promise<ZooKeeperSession>;

/** A plaintext session with the members in `connectString` (`ip:port,…`). */
const openPlaintextSession: SessionOpener = (connectString) =>
  ZooKeeperSession.open({ servers: connectString.split(','), sessionTimeoutMs: 15_000, connectTimeoutMs: 15_000 });

export interface WriteReport {
  acknowledged: number;
  failed: number;
  /** Longest time between two acknowledged writes, in ms. */
  longestGapMs: number;
  /** When that gap began and ended (epoch ms), to line it up with restarts and elections. */
  longestGap: { fromMs: number; toMs: number };
  /** Every gap between two acknowledged writes of NOTABLE_GAP_MS or more, in order. */
  gaps: { fromMs: number; toMs: number }[];
  /** What the writer went through (the first failure of each failing run, each new session), in order. */
  incidents: WriterIncident[];
  /** Acknowledged znodes missing when read back (must be empty). */
  lost: string[];
}

export interface WriterIncident {
  atMs: number;
  what: string;
}

/** Gaps between acknowledged writes shorter than this are the writer's own pace, not a disturbance. */
const NOTABLE_GAP_MS = 100;

/** Writes that fail this long, with other members Ready now, make the writer reconnect. */
const RECONNECT_AFTER_MS = 3_000;

export class ZnodeWriter {
  private readonly acknowledged: { path: string; at: number }[] = [];
  private failed = 0;
  private readonly incidents: WriterIncident[] = [];
  private running: Promise<void> | undefined;
  private stopping = false;
  private stopped: Promise<WriteReport> | undefined;

  private constructor(
    private session: ZooKeeperSession,
    private servers: string,
    private readonly currentServers: () => Promise<string>,
    private readonly root: string,
    private readonly openSession: SessionOpener,
  ) {}

  /**
   * Connects to the Ready members `servers()` names and creates the parent znode `root`.
   * `openSession` reads the connect string (plaintext `ip:port,…` by default).
   */
  static async start(
    servers: () => Promise<string>,
    root: string,
    openSession: SessionOpener = openPlaintextSession,
  ): Promise<ZnodeWriter> {
    // Pod readiness can trail ZooKeeper's own view by a probe period: wait for a Ready member.
    const initial = await pollUntil('a Ready member to connect to', async () => (await servers()) || undefined, {
      timeoutMs: 60_000,
    });
    const session = await openSession(initial);
    await session.create(root, '', CREATE_MODE.persistent).catch((error: unknown) => {
      if (returnCodeOf(error) !== ERROR_CODE.nodeExists) throw error;
    });
    const writer = new ZnodeWriter(session, initial, servers, root, openSession);
    writer.running = writer.loop();
    return writer;
  }

  private async loop(): Promise<void> {
    let sequence = 0;
    let failingSince: number | undefined;
    while (!this.stopping) {
      try {
        const path = await this.session.create(`${this.root}/w-`, String(sequence++), CREATE_MODE.sequential);
        this.acknowledged.push({ path, at: Date.now() });
        failingSince = undefined;
      } catch (error) {
        // Not acknowledged (connection loss, no quorum): retried with the next write.
        this.failed++;
        if (failingSince === undefined) {
          this.incidents.push({
            atMs: Date.now(),
            what: `write failed on ${this.session.server}: ${(error as Error).message}`,
          });
        }
        failingSince ??= Date.now();
        if (!this.session.isOpen || Date.now() - failingSince > RECONNECT_AFTER_MS) {
          await this.reconnect(!this.session.isOpen);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /**
   * Opens a session on the members Ready now when they are not the ones this session knows, or
   * when `always` (the connection dropped, and a session never moves to another server).
   */
  private async reconnect(always: boolean): Promise<void> {
    const current = await this.currentServers().catch(() => '');
    if (current === '' || (current === this.servers && !always)) return;
    const openingAt = Date.now();
    const replacement = await this.openSession(current).catch((error: Error) => {
      this.incidents.push({ atMs: openingAt, what: `no new session with ${current}: ${error.message}` });
      return undefined;
    });
    if (replacement === undefined) return;
    this.incidents.push({
      atMs: Date.now(),
      what: `new session on ${replacement.server} after ${Date.now() - openingAt} ms (Ready: ${current})`,
    });
    const previous = this.session;
    this.session = replacement;
    this.servers = current;
    await previous.close();
  }

  get count(): number {
    return this.acknowledged.length;
  }

  /** Stops writing, reads every child of `root` back, and reports. Safe to call twice. */
  stop(): Promise<WriteReport> {
    this.stopped ??= this.finish();
    return this.stopped;
  }

  private async finish(): Promise<WriteReport> {
    this.stopping = true;
    await this.running;
    await this.session.close();
    // A fresh session on the members Ready now reads back what the ensemble kept.
    const reader = await pollUntil(
      'a session on the Ready members to read the writes back',
      async () => {
        const current = await this.currentServers();
        return current === '' ? undefined : this.openSession(current);
      },
      { timeoutMs: 60_000 },
    );
    let children: Set<string>;
    try {
      await reader.sync(this.root);
      children = new Set(await reader.getChildren(this.root));
    } finally {
      await reader.close();
    }
    const longestGap = { fromMs: 0, toMs: 0 };
    const gaps: { fromMs: number; toMs: number }[] = [];
    for (let i = 1; i < this.acknowledged.length; i++) {
      const fromMs = this.acknowledged[i - 1]?.at ?? 0;
      const toMs = this.acknowledged[i]?.at ?? 0;
      if (toMs - fromMs >= NOTABLE_GAP_MS) gaps.push({ fromMs, toMs });
      if (toMs - fromMs > longestGap.toMs - longestGap.fromMs) Object.assign(longestGap, { fromMs, toMs });
    }
    return {
      acknowledged: this.acknowledged.length,
      failed: this.failed,
      longestGapMs: longestGap.toMs - longestGap.fromMs,
      longestGap,
      gaps,
      incidents: this.incidents,
      lost: this.acknowledged.map((a) => a.path).filter((path) => !children.has(path.slice(this.root.length + 1))),
    };
  }
}
