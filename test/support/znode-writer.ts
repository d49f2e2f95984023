/**
 * A ZooKeeper client that writes sequential znodes without pause during a disruptive
 * operation, then proves that every acknowledged write survived. It also measures how long
 * writes could not be acknowledged (the longest gap between two acknowledgements).
 * Uses the native `zookeeper` client, as an application would. Members come back with new pod
 * IPs after a restart, and the test has no cluster DNS, so the writer keeps the client's server
 * list current (`set_servers`), as a client resolving the Service's names would.
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

function connect(connectString: string, timeoutMs: number): Promise<ZooKeeper> {
  const client = new ZooKeeper({
    connect: connectString,
    timeout: timeoutMs,
    debug_level: ZooKeeper.constants.ZOO_LOG_LEVEL_ERROR,
    host_order_deterministic: false,
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no ZooKeeper session with ${connectString} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    client.once('connect', () => {
      clearTimeout(timer);
      resolve(client);
    });
    client.init({});
  });
}

export class ZnodeWriter {
  private readonly acknowledged: { path: string; at: number }[] = [];
  private failed = 0;
  private running: Promise<void> | undefined;
  private refreshing: Promise<void> | undefined;
  private stopping = false;
  private stopped: Promise<WriteReport> | undefined;

  private constructor(
    private readonly client: ZooKeeper,
    private readonly root: string,
    private servers: string,
  ) {}

  /** Connects to `servers()` and creates the parent znode `root` (e.g. `/e2e`). */
  static async start(servers: () => Promise<string>, root: string): Promise<ZnodeWriter> {
    // Pod readiness can trail ZooKeeper's own view by a probe period: wait for a Ready member.
    const initial = await pollUntil('a Ready member to connect to', async () => (await servers()) || undefined, {
      timeoutMs: 60_000,
    });
    const client = await connect(initial, 15_000);
    await client.create(root, '', ZooKeeper.constants.ZOO_PERSISTENT).catch((error: Error) => {
      if (!/exists/i.test(error.message)) throw error;
    });
    const writer = new ZnodeWriter(client, root, initial);
    writer.running = writer.loop();
    writer.refreshing = writer.refreshServers(servers);
    return writer;
  }

  private async refreshServers(servers: () => Promise<string>): Promise<void> {
    while (!this.stopping) {
      const current = await servers().catch(() => this.servers);
      if (current !== '' && current !== this.servers) {
        this.servers = current;
        this.client.set_servers(current);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  private async loop(): Promise<void> {
    let sequence = 0;
    while (!this.stopping) {
      try {
        const path = await this.client.create(`${this.root}/w-`, String(sequence++), ZooKeeper.constants.ZOO_SEQUENCE);
        this.acknowledged.push({ path, at: Date.now() });
      } catch {
        // Not acknowledged (connection loss, no quorum): retried with the next write.
        this.failed++;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
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
    await Promise.all([this.running, this.refreshing]);
    await this.client.sync(this.root);
    const children = new Set(await this.client.get_children(this.root, false));
    this.client.close();
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
