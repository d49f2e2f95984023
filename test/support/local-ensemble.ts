/**
 * Real ZooKeeper servers on loopback for tests: each member its own directory, its own free
 * client, quorum and election ports on 127.0.0.1, and the settings the operator renders
 * (`reconfigEnabled=true`, `standaloneEnabled=false`, every 4lw, `zookeeper.db.autocreate=false`,
 * the super user's digest). Started from the cached dists (`test/controlplane/install.sh`).
 *
 * Members are child processes in their own process group; `stop()` kills them and removes the
 * directory, and an exit hook kills whatever a crashed test left running. Only processes this
 * helper started are ever signalled.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readMember } from '../../src/zookeeper/ensemble-reader.js';
import { askFourLetterWord, type FourLetterWord } from '../../src/zookeeper/four-letter-word.js';
import type { MemberReading } from '../../src/zookeeper/health.js';
import { superDigestJvmFlag } from '../../src/zookeeper/super-digest.js';
import { binaryCacheDir } from '../harness/binaries.js';

export interface LocalMember {
  myid: number;
  clientPort: number;
  quorumPort: number;
  electionPort: number;
  dir: string;
  /** `127.0.0.1:<clientPort>` */
  address: string;
  /** `server.N=127.0.0.1:<quorum>:<election>:participant;127.0.0.1:<client>` */
  serverLine: string;
}

export interface LocalEnsembleOptions {
  size: number;
  /** A dist in the cache; default $ZKOP_LOCAL_ZOOKEEPER_VERSION, else 3.9.4. */
  version?: string;
  /** The super user's password; its digest goes into SERVER_JVMFLAGS. */
  superPassword: string;
  /**
   * The host of the quorum and election addresses in the server lines; default 127.0.0.1. A
   * name (`localhost`) lets quorum TLS verify the peer's certificate by name, as members do
   * with their DNS names.
   */
  quorumHost?: string;
  /** zoo.cfg lines for member `myid` beyond the operator's base settings (TLS keys, …). */
  extraConfig?: (myid: number) => readonly string[];
}

const running = new Set<ChildProcess>();
/** What a JVM logs when it cannot create a file watcher (ZooKeeper's certificate reloading). */
const INOTIFY_EXHAUSTED = 'User limit of inotify instances reached';
const INOTIFY_RETRIES = 5;

process.once('exit', () => {
  for (const child of running) killGroup(child);
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone between the check and the signal.
  }
}

/** A port that was free on 127.0.0.1 a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject()));
    });
  });
}

export const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns a value other than undefined/false, or fails naming `description`. */
export async function waitFor<T>(
  description: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    await delay(200);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}${last ? ` (last error: ${last})` : ''}`);
}

export class LocalEnsemble {
  readonly members = new Map<number, LocalMember>();
  private readonly processes = new Map<number, ChildProcess>();
  /** The extra zoo.cfg lines each member was last started with. */
  private readonly extras = new Map<number, readonly string[]>();

  private constructor(
    private readonly root: string,
    private readonly zkServer: string,
    private readonly superPassword: string,
    private readonly quorumHost: string,
    private readonly extraConfig: (myid: number) => readonly string[],
  ) {}

  /** Starts members 1..size with one initial config and waits until they serve with one leader. */
  static async start(options: LocalEnsembleOptions): Promise<LocalEnsemble> {
    const version = options.version ?? (process.env.ZKOP_LOCAL_ZOOKEEPER_VERSION || '3.9.4');
    const zkServer = join(binaryCacheDir(), `zookeeper-${version}`, 'bin', 'zkServer.sh');
    await readFile(zkServer).catch(() => {
      throw new Error(`${zkServer} is missing: run \`bash test/controlplane/install.sh\` once`);
    });
    const root = await mkdtemp(join(tmpdir(), 'zkop-ensemble-'));
    const ensemble = new LocalEnsemble(
      root,
      zkServer,
      options.superPassword,
      options.quorumHost ?? '127.0.0.1',
      options.extraConfig ?? (() => []),
    );
    try {
      const ids = Array.from({ length: options.size }, (_, i) => i + 1);
      for (const id of ids) await ensemble.allocate(id);
      for (const id of ids) await ensemble.launch(id, ids, { bootstrap: true });
      await ensemble.waitForQuorum(ids);
    } catch (error) {
      await ensemble.stop();
      throw error;
    }
    return ensemble;
  }

  member(myid: number): LocalMember {
    const member = this.members.get(myid);
    if (member === undefined) throw new Error(`no member ${myid}`);
    return member;
  }

  /** Server ids of the members whose process runs, ascending. */
  runningIds(): number[] {
    return [...this.processes.keys()].sort((a, b) => a - b);
  }

  /** `host:port` of the given members' client ports (default: all running). */
  addresses(ids: readonly number[] = [...this.processes.keys()]): string[] {
    return [...ids].sort((a, b) => a - b).map((id) => this.member(id).address);
  }

  /**
   * Starts a joiner: a new member whose initial config is `committed` plus itself, with an
   * empty database (it syncs as a non-voting follower until it is added).
   */
  async startJoiner(myid: number, committed: readonly number[]): Promise<LocalMember> {
    await this.allocate(myid);
    await this.launch(myid, [...committed, myid], { bootstrap: false });
    return this.member(myid);
  }

  /** Allocates ports and a directory for a member that is not started (e.g. never to be). */
  async allocate(myid: number): Promise<LocalMember> {
    const existing = this.members.get(myid);
    if (existing !== undefined) return existing;
    const member = await this.freshAddresses(myid, this.quorumHost);
    this.members.set(myid, member);
    return member;
  }

  /**
   * New free ports (and `host` for the quorum and election addresses) for member `myid`, with its
   * line ready for a reconfig. Nothing changes until `record` says the move committed.
   */
  async freshAddresses(myid: number, host = '127.0.0.1'): Promise<LocalMember> {
    const [clientPort, quorumPort, electionPort] = [await freePort(), await freePort(), await freePort()] as [
      number,
      number,
      number,
    ];
    return {
      myid,
      clientPort,
      quorumPort,
      electionPort,
      dir: join(this.root, String(myid)),
      address: `127.0.0.1:${clientPort}`,
      serverLine: `server.${myid}=${host}:${quorumPort}:${electionPort}:participant;127.0.0.1:${clientPort}`,
    };
  }

  /** Takes `moved` as the member's addresses from now on (its line committed by a reconfig). */
  record(moved: LocalMember): void {
    this.member(moved.myid);
    this.members.set(moved.myid, moved);
  }

  private async launch(myid: number, initial: readonly number[], { bootstrap }: { bootstrap: boolean }) {
    const member = this.member(myid);
    const data = join(member.dir, 'data');
    await mkdir(data, { recursive: true });
    await writeFile(join(data, 'myid'), `${myid}\n`);
    // With zookeeper.db.autocreate=false only the members of a new ensemble may start empty.
    if (bootstrap) await writeFile(join(data, 'initialize'), '');
    await writeFile(
      join(member.dir, 'zoo.cfg.dynamic'),
      initial.map((id) => `${this.member(id).serverLine}\n`).join(''),
    );
    await writeFile(
      join(member.dir, 'zoo.cfg'),
      [
        'tickTime=1000',
        'initLimit=10',
        'syncLimit=5',
        `dataDir=${data}`,
        'standaloneEnabled=false',
        'reconfigEnabled=true',
        '4lw.commands.whitelist=*',
        'admin.enableServer=false',
        `dynamicConfigFile=${join(member.dir, 'zoo.cfg.dynamic')}`,
        ...this.extraConfig(myid),
        '',
      ].join('\n'),
    );
    this.extras.set(myid, this.extraConfig(myid));
    this.spawnServer(myid);
  }

  /**
   * Starts a member's server. One that exits at once because the machine's inotify instances are
   * used up (each TLS member takes six of the 128 a user may hold, and the suite runs other
   * ZooKeepers and control planes beside it) is started again after a pause, a few times, as a
   * kubelet restarts a crashed container; the member's log says so.
   */
  private spawnServer(myid: number, attempt = 1): void {
    const member = this.member(myid);
    const log = createWriteStream(join(member.dir, 'server.log'), { flags: 'a' });
    const child = spawn(this.zkServer, ['start-foreground', join(member.dir, 'zoo.cfg')], {
      env: {
        ...process.env,
        ZOOCFGDIR: member.dir,
        ZOO_LOG_DIR: member.dir,
        ZK_SERVER_HEAP: '256',
        SERVER_JVMFLAGS: [
          superDigestJvmFlag(this.superPassword),
          '-Dzookeeper.db.autocreate=false',
          '-Dzookeeper.electionPortBindRetry=0',
          '-XX:+UseSerialGC',
          '-XX:TieredStopAtLevel=1',
        ].join(' '),
      },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    running.add(child);
    child.once('exit', (code) => {
      running.delete(child);
      if (code === 0 || this.processes.get(myid) !== child || attempt >= INOTIFY_RETRIES) return;
      void this.log(myid).then((text) => {
        if (!text.includes(INOTIFY_EXHAUSTED) || this.processes.get(myid) !== child) return;
        log.write(`\n--- local-ensemble: no inotify instance was free; starting server ${myid} again\n`);
        setTimeout(() => {
          if (this.processes.get(myid) === child) this.spawnServer(myid, attempt + 1);
        }, 5_000);
      });
    });
    this.processes.set(myid, child);
  }

  /** The process id of a running member, to tell a change applied in place from a restart. */
  pid(myid: number): number | undefined {
    return this.processes.get(myid)?.pid;
  }

  /** The server's log, for failure messages. */
  log(myid: number): Promise<string> {
    return readFile(join(this.member(myid).dir, 'server.log'), 'utf8').catch(() => '');
  }

  ask(myid: number, word: FourLetterWord): Promise<string> {
    return askFourLetterWord('127.0.0.1', this.member(myid).clientPort, word, 3_000);
  }

  /** One reading per running member, made by the operator's own member reader. */
  async readings(ids: readonly number[] = [...this.processes.keys()]): Promise<MemberReading[]> {
    return Promise.all(
      [...ids]
        .sort((a, b) => a - b)
        .map((myid) =>
          readMember({ pod: `member-${myid}`, myid, ip: '127.0.0.1' }, { client: this.member(myid).clientPort }, 3_000),
        ),
    );
  }

  /** Server id of the member whose srvr says leader, if exactly one. */
  async leader(): Promise<number | undefined> {
    const leaders = (await this.readings()).filter((r) => r.srvr?.mode === 'leader');
    return leaders.length === 1 ? leaders[0]?.myid : undefined;
  }

  /** Waits until every one of `ids` serves and exactly one of them leads. */
  async waitForQuorum(ids: readonly number[], timeoutMs = 60_000): Promise<number> {
    return waitFor(
      `members ${ids.join(',')} to serve with one leader`,
      async () => {
        const readings = await this.readings(ids);
        if (!readings.every((r) => r.srvr !== undefined)) return undefined;
        const leaders = readings.filter((r) => r.srvr?.mode === 'leader');
        return leaders.length === 1 ? leaders[0]?.myid : undefined;
      },
      timeoutMs,
    ).catch(async (error: Error) => {
      const logs = await Promise.all(ids.map(async (id) => `--- ${id}\n${(await this.log(id)).slice(-1500)}`));
      throw new Error(`${error.message}\n${logs.join('\n')}`);
    });
  }

  /** Stops one member (SIGKILL to its process group) and waits until it has exited. */
  async stopMember(myid: number): Promise<void> {
    const child = this.processes.get(myid);
    if (child === undefined) return;
    this.processes.delete(myid);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    killGroup(child);
    await exited;
  }

  /** Restarts a stopped member with its data and the config files ZooKeeper rewrote. */
  restartMember(myid: number): void {
    if (this.processes.has(myid)) throw new Error(`member ${myid} is running`);
    this.spawnServer(myid);
  }

  /**
   * Replaces the extra zoo.cfg lines of a stopped member (those it was started with) by `lines`,
   * keeping what ZooKeeper itself wrote there (its `dynamicConfigFile` after a reconfig).
   */
  async replaceExtraConfig(myid: number, lines: readonly string[]): Promise<void> {
    if (this.processes.has(myid)) throw new Error(`member ${myid} is running; stop it before changing its zoo.cfg`);
    const keyOf = (line: string) => line.split('=')[0]?.trim();
    const replaced = new Set([...(this.extras.get(myid) ?? []), ...lines].map(keyOf));
    const path = join(this.member(myid).dir, 'zoo.cfg');
    const kept = (await readFile(path, 'utf8')).split('\n').filter((line) => line !== '' && !replaced.has(keyOf(line)));
    await writeFile(path, [...kept, ...lines, ''].join('\n'));
    this.extras.set(myid, lines);
  }

  /** Removes a stopped member's data and config (its "claim"); its ports stay allocated. */
  async wipe(myid: number): Promise<void> {
    if (this.processes.has(myid)) throw new Error(`member ${myid} is running; stop it before wiping its data`);
    await rm(this.member(myid).dir, { recursive: true, force: true });
  }

  /** Kills every member and removes the directory. Safe to call twice. */
  async stop(): Promise<void> {
    await Promise.all([...this.processes.keys()].map((id) => this.stopMember(id)));
    await rm(this.root, { recursive: true, force: true });
  }
}
