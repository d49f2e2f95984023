/**
 * A ZooKeeper client that writes sequential znodes without pause during a disruptive
 * operation, then proves that every acknowledged write survived. It also measures how long
 * writes could not be acknowledged (the longest gap between two acknowledgements).
 *
 * Uses the native `zookeeper` client, as an application would. Members come back with new pod
 * IPs after a restart and the test has no cluster DNS, so when writes stall while the set of
 * Ready members changed, the writer opens a new session with the current addresses (as a client
 * resolving the Service's name again would). The native client has crashed processes when it
 * was closed from inside its own callbacks or reconfigured with `set_servers`: sessions here
 * are closed once, on a later turn of the event loop, and `set_servers` is not used.
 */
import ZooKeeper from 'zookeeper';
import { pollUntil } from '../harness/poll.js';

export interface WriteReport {
  acknowledged: number;
  failed: number;
  /** Longest time between two acknowledged writes, in ms. */
  longestGapMs: number;
  /** Acknowledged znodes missing when read back (must be empty). */
  lost: string[];
}

/** Writes that fail this long, with other members Ready now, make the writer reconnect. */
const RECONNECT_AFTER_MS = 3_000;

class Session {
  private closing: Promise<void> | undefined;
  private closedByBinding = false;

  private constructor(readonly client: ZooKeeper) {
    client.once('close', () => {
      this.closedByBinding = true;
    });
  }

  static open(connectString: string, timeoutMs: number): Promise<Session> {
    const client = new ZooKeeper({
      connect: connectString,
      timeout: timeoutMs,
      debug_level: ZooKeeper.constants.ZOO_LOG_LEVEL_ERROR,
      host_order_deterministic: false,
    });
    const session = new Session(client);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        void session.close();
        reject(new Error(`no ZooKeeper session with ${connectString} within ${timeoutMs} ms`));
      }, timeoutMs);
      client.once('connect', () => {
        clearTimeout(timer);
        resolve(session);
      });
      client.init({});
    });
  }

  close(): Promise<void> {
    this.closing ??= new Promise((resolve) => {
      setImmediate(() => {
        if (!this.closedByBinding) this.client.close();
        resolve();
      });
    });
    return this.closing;
  }
}

export class ZnodeWriter {
  private readonly acknowledged: { path: string; at: number }[] = [];
  private failed = 0;
  private running: Promise<void> | undefined;
  private stopping = false;
  private stopped: Promise<WriteReport> | undefined;

  private constructor(
    private session: Session,
    private servers: string,
    private readonly currentServers: () => Promise<string>,
    private readonly root: string,
  ) {}

  /** Connects to the Ready members `servers()` names and creates the parent znode `root`. */
  static async start(servers: () => Promise<string>, root: string): Promise<ZnodeWriter> {
    // Pod readiness can trail ZooKeeper's own view by a probe period: wait for a Ready member.
    const initial = await pollUntil('a Ready member to connect to', async () => (await servers()) || undefined, {
      timeoutMs: 60_000,
    });
    const session = await Session.open(initial, 15_000);
    await session.client.create(root, '', ZooKeeper.constants.ZOO_PERSISTENT).catch((error: Error) => {
      if (!/exists/i.test(error.message)) throw error;
    });
    const writer = new ZnodeWriter(session, initial, servers, root);
    writer.running = writer.loop();
    return writer;
  }

  private async loop(): Promise<void> {
    let sequence = 0;
    let failingSince: number | undefined;
    while (!this.stopping) {
      try {
        const path = await this.session.client.create(
          `${this.root}/w-`,
          String(sequence++),
          ZooKeeper.constants.ZOO_SEQUENCE,
        );
        this.acknowledged.push({ path, at: Date.now() });
        failingSince = undefined;
      } catch {
        // Not acknowledged (connection loss, no quorum): retried with the next write.
        this.failed++;
        failingSince ??= Date.now();
        if (Date.now() - failingSince > RECONNECT_AFTER_MS) await this.reconnectIfMembersMoved();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  private async reconnectIfMembersMoved(): Promise<void> {
    const current = await this.currentServers().catch(() => '');
    if (current === '' || current === this.servers) return;
    const replacement = await Session.open(current, 15_000).catch(() => undefined);
    if (replacement === undefined) return;
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
    // A fresh session on the members Ready now reads back what the ensemble kept.
    await this.reconnectIfMembersMoved();
    await this.session.client.sync(this.root);
    const children = new Set(await this.session.client.get_children(this.root, false));
    await this.session.close();
    let longestGapMs = 0;
    for (let i = 1; i < this.acknowledged.length; i++) {
      longestGapMs = Math.max(longestGapMs, (this.acknowledged[i]?.at ?? 0) - (this.acknowledged[i - 1]?.at ?? 0));
    }
    return {
      acknowledged: this.acknowledged.length,
      failed: this.failed,
      longestGapMs,
      lost: this.acknowledged.map((a) => a.path).filter((path) => !children.has(path.slice(this.root.length + 1))),
    };
  }
}
