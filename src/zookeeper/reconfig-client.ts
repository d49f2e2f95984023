/**
 * The reconfig edge: reads the committed membership (`sync`, then `/zookeeper/config`) and
 * changes it by one member with an incremental reconfig conditional on the version read. Uses
 * the native `zookeeper` client (the pure-JS client has no reconfig opcode).
 *
 * Contract:
 * - every call opens its own session, authenticates as the super user when a password is given
 *   (`add_auth('digest', 'super:<password>')`; reconfig needs write permission on
 *   `/zookeeper/config`, which by default only the super user has), and closes the session
 *   exactly once, also on failure;
 * - an add or remove that the committed config already shows is not sent (a no-op reconfig
 *   still bumps the version);
 * - after ConnectionLoss or a timeout (expected when the leader removes itself) the config is
 *   read again through a new session: if it shows the change, the change committed;
 * - failures are `ReconfigError`s with a code (BadVersion, NewConfigNoQuorum, NotAuthenticated,
 *   …), a message that says what to do, and the config observed afterwards when it could be read.
 *
 * The native client has crashed a Node process (segfault) when it was used after close or
 * closed from inside its own completion: sessions here are closed on a later turn of the event
 * loop (`setImmediate`), never twice, and are not used after close; `set_servers` is never used.
 */
import ZooKeeper from 'zookeeper';
import { superAuth } from './super-digest.js';

export interface ReconfigClientOptions {
  /**
   * `host:port` of members' client ports; the client connects to any of them and ZooKeeper
   * forwards the reconfig to the leader. Pass the committed voters that stay in the new config
   * (as Strimzi does); a member being removed or a joiner works too, but may drop the session.
   */
  servers: readonly string[];
  /** The super user's password (from the cluster's Secret). Reads work without; reconfig is refused. */
  superPassword?: string;
  /** Default 10000. */
  sessionTimeoutMs?: number;
  /** How long to wait for a session, and after a ConnectionLoss for the config to be readable again. Default 15000. */
  connectTimeoutMs?: number;
}

export interface ConfigMember {
  myid: number;
  host: string;
  quorumPort: number;
  electionPort: number;
  role: 'participant' | 'observer';
  /** `[addr:]port` after the `;`, when the line has one. */
  clientAddress?: string;
  /** The whole `server.N=…` line. */
  line: string;
}

export interface CommittedConfig {
  members: ConfigMember[];
  /** Server ids of the participants, ascending. */
  voters: number[];
  /** Hex, without 0x: the zxid of the reconfig that made this config. */
  version: string;
}

export interface ReconfigResult {
  /** The committed config after the change. */
  config: CommittedConfig;
  /** The config already showed the change; no reconfig was sent. */
  alreadyApplied: boolean;
  /** The reconfig's answer was lost (ConnectionLoss, e.g. the leader removed itself); the re-read showed it committed. */
  connectionLost: boolean;
}

export type ReconfigErrorCode =
  | 'BadVersion'
  | 'NewConfigNoQuorum'
  | 'NotAuthenticated'
  | 'ReconfigInProgress'
  | 'ReconfigDisabled'
  | 'BadArguments'
  | 'ConnectionLoss'
  | 'NoSession'
  | 'Failed';

export class ReconfigError extends Error {
  override readonly name = 'ReconfigError';
  constructor(
    readonly code: ReconfigErrorCode,
    message: string,
    /** The committed config read after the failure, when it could be read. */
    readonly observed?: CommittedConfig,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The membership operations the scaling steps need; `zookeeperMembership` is the real one. */
export interface MembershipClient {
  read(): Promise<CommittedConfig>;
  add(serverLine: string, fromVersion: string): Promise<ReconfigResult>;
  remove(myid: number, fromVersion: string): Promise<ReconfigResult>;
  /** One committed write, so that the latest config is active on every member of it. */
  commitWrite(): Promise<void>;
}

export function zookeeperMembership(options: ReconfigClientOptions): MembershipClient {
  return {
    read: () => readCommittedConfig(options),
    add: (serverLine, fromVersion) => addMember(options, serverLine, fromVersion),
    remove: (myid, fromVersion) => removeMember(options, myid, fromVersion),
    commitWrite: () => commitWrite(options),
  };
}

// ---- pure parts ------------------------------------------------------------------------------

const SERVER_LINE = /^server\.(\d+)=([^:;\s]+):(\d+):(\d+)(?::(participant|observer))?(?:;(\S+))?$/;

/** One `server.N=host:quorum:election[:role][;[addr:]client]` line. */
export function parseServerLine(line: string): ConfigMember {
  const match = SERVER_LINE.exec(line.trim());
  if (match === null) throw new Error(`not a server line: ${JSON.stringify(line)}`);
  const [, myid, host, quorumPort, electionPort, role, clientAddress] = match;
  return {
    myid: Number(myid),
    host: host as string,
    quorumPort: Number(quorumPort),
    electionPort: Number(electionPort),
    role: role === 'observer' ? 'observer' : 'participant',
    ...(clientAddress === undefined ? {} : { clientAddress }),
    line: line.trim(),
  };
}

/** The text of `/zookeeper/config`: `server.N=…` lines and `version=<hex>`. */
export function parseCommittedConfig(text: string): CommittedConfig {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const members = lines
    .filter((l) => l.startsWith('server.'))
    .map(parseServerLine)
    .sort((a, b) => a.myid - b.myid);
  const version = lines.find((l) => l.startsWith('version='))?.slice('version='.length);
  if (version === undefined || !/^[0-9a-fA-F]+$/.test(version)) {
    throw new Error(`the config has no version line: ${JSON.stringify(text.slice(0, 300))}`);
  }
  if (members.length === 0) throw new Error(`the config lists no server: ${JSON.stringify(text.slice(0, 300))}`);
  return {
    members,
    voters: members.filter((m) => m.role === 'participant').map((m) => m.myid),
    version: version.toLowerCase(),
  };
}

/** The native client rejects with `Error("<rc> <zerror text>")`; the rc, or undefined. */
export function returnCodeOf(error: unknown): number | undefined {
  const match = /^(-?\d+)\s/.exec(error instanceof Error ? error.message : String(error));
  if (match !== null) return Number(match[1]);
  // Calls refused before they are sent: `fn: "…" args: "…" result: "ZINVALIDSTATE -9"`.
  const refused = /result: "\w+ (-?\d+)"/.exec(error instanceof Error ? error.message : String(error));
  return refused === null ? undefined : Number(refused[1]);
}

const RC = {
  connectionLoss: -4,
  operationTimeout: -7,
  badArguments: -8,
  invalidState: -9,
  newConfigNoQuorum: -13,
  reconfigInProgress: -14,
  noAuth: -102,
  badVersion: -103,
  sessionExpired: -112,
  reconfigDisabled: -123,
} as const;

/** A lost answer: the request may or may not have been applied. */
export function isConnectionLoss(error: unknown): boolean {
  const rc = returnCodeOf(error);
  return rc === RC.connectionLoss || rc === RC.operationTimeout || rc === RC.sessionExpired || rc === RC.invalidState;
}

/** What a refused reconfig means, for the operator's condition and log. */
export function classifyReconfigError(
  error: unknown,
  change: string,
  fromVersion: string,
  authenticated: boolean,
): { code: ReconfigErrorCode; message: string } {
  const rc = returnCodeOf(error);
  const detail = error instanceof Error ? error.message : String(error);
  switch (rc) {
    case RC.badVersion:
      return {
        code: 'BadVersion',
        message: `${change} was refused: the committed config is no longer version ${fromVersion} (someone else changed the membership); read it again and re-plan`,
      };
    case RC.newConfigNoQuorum:
      return {
        code: 'NewConfigNoQuorum',
        message: `${change} was refused: no quorum of the new config is connected and synced with the leader; wait until the members of the new config are up and synced`,
      };
    case RC.noAuth:
      return {
        code: 'NotAuthenticated',
        message: authenticated
          ? `${change} was refused: not authenticated. The super user password did not match: the servers must run with -Dzookeeper.DigestAuthenticationProvider.superDigest set to the digest of the password in the cluster's Secret`
          : `${change} was refused: not authenticated. Reconfig needs the super user: give the client the password whose digest the servers have in -Dzookeeper.DigestAuthenticationProvider.superDigest`,
      };
    case RC.reconfigInProgress:
      return { code: 'ReconfigInProgress', message: `${change} was refused: another reconfig is in progress; retry` };
    case RC.reconfigDisabled:
      return {
        code: 'ReconfigDisabled',
        message: `${change} was refused: reconfigEnabled is false on the leader`,
      };
    case RC.badArguments:
      return { code: 'BadArguments', message: `${change} was refused as invalid (${detail})` };
    default:
      return { code: 'Failed', message: `${change} failed: ${detail}` };
  }
}

// ---- sessions --------------------------------------------------------------------------------

const DEFAULTS = { sessionTimeoutMs: 10_000, connectTimeoutMs: 15_000 };

/**
 * One native session; `close()` is idempotent and deferred to a later event-loop turn.
 * Exported for other users of the native client (the tests' znode writer) so they share the
 * same careful handling.
 */
export class Session {
  private closing: Promise<void> | undefined;
  private closedByClient = false;

  private constructor(readonly client: ZooKeeper) {
    // The binding closes the handle itself on session expiry or auth failure.
    client.once('close', () => {
      this.closedByClient = true;
    });
  }

  static open(options: ReconfigClientOptions): Promise<Session> {
    const connect = options.servers.join(',');
    if (connect === '')
      return Promise.reject(new ReconfigError('NoSession', 'no ZooKeeper server address to connect to'));
    const timeoutMs = options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs;
    const client = new ZooKeeper({
      connect,
      timeout: options.sessionTimeoutMs ?? DEFAULTS.sessionTimeoutMs,
      debug_level: ZooKeeper.constants.ZOO_LOG_LEVEL_ERROR,
      host_order_deterministic: false,
    });
    const session = new Session(client);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        void session.close();
        reject(new ReconfigError('NoSession', `no ZooKeeper session with ${connect} within ${timeoutMs} ms`));
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
        if (!this.closedByClient) this.client.close();
        resolve();
      });
    });
    return this.closing;
  }

  addAuth(scheme: string, auth: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const rc = this.client.add_auth(scheme, auth, (code: number, error: unknown) => {
        if (code === 0) resolve();
        else reject(new Error(`${code} ${String(error)}`));
      });
      if (typeof rc === 'number' && rc < 0) reject(new Error(`${rc} add_auth was refused before it was sent`));
    });
  }

  async readConfig(): Promise<CommittedConfig> {
    await this.client.sync('/zookeeper/config');
    const answer = (await this.client.getconfig(false)) as unknown;
    return parseCommittedConfig(configText(answer));
  }
}

/** getconfig and reconfig resolve `[stat, data]`; data is a Buffer (or a string with an encoding set). */
function configText(answer: unknown): string {
  const data = Array.isArray(answer) ? answer[1] : answer;
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (typeof data === 'string') return data;
  throw new Error(`unexpected config answer: ${String(data)}`);
}

async function withSession<T>(options: ReconfigClientOptions, use: (session: Session) => Promise<T>): Promise<T> {
  const session = await Session.open(options);
  try {
    if (options.superPassword !== undefined) await session.addAuth('digest', superAuth(options.superPassword));
    return await use(session);
  } finally {
    await session.close();
  }
}

/** `sync`, then the committed config. */
export function readCommittedConfig(options: ReconfigClientOptions): Promise<CommittedConfig> {
  return withSession(options, (session) => session.readConfig());
}

/** Reads the config through new sessions until one answers (after a ConnectionLoss), or undefined. */
async function reread(options: ReconfigClientOptions): Promise<CommittedConfig | undefined> {
  const deadline = Date.now() + (options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs);
  while (Date.now() < deadline) {
    try {
      return await readCommittedConfig({ ...options, connectTimeoutMs: Math.max(1_000, deadline - Date.now()) });
    } catch {
      // The ensemble may be electing a leader; try again until the deadline.
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  return undefined;
}

interface Change {
  describe: string;
  applied(config: CommittedConfig): boolean;
  send(session: Session, version: number): Promise<unknown>;
}

async function reconfigure(
  options: ReconfigClientOptions,
  change: Change,
  fromVersion: string,
): Promise<ReconfigResult> {
  if (!/^[0-9a-fA-F]+$/.test(fromVersion)) throw new Error(`config version ${JSON.stringify(fromVersion)} is not hex`);
  const authenticated = options.superPassword !== undefined;
  let current: CommittedConfig | undefined;
  let sent: { answer: unknown } | { error: unknown };
  const session = await Session.open(options);
  try {
    if (authenticated) await session.addAuth('digest', superAuth(options.superPassword as string));
    current = await session.readConfig();
    if (change.applied(current)) return { config: current, alreadyApplied: true, connectionLost: false };
    try {
      sent = { answer: await change.send(session, Number.parseInt(fromVersion, 16)) };
    } catch (error) {
      sent = { error };
    }
  } finally {
    await session.close();
  }

  if ('answer' in sent) {
    return { config: parseCommittedConfig(configText(sent.answer)), alreadyApplied: false, connectionLost: false };
  }
  const { error } = sent;
  if (isConnectionLoss(error)) {
    const after = await reread(options);
    if (after !== undefined && change.applied(after)) {
      return { config: after, alreadyApplied: false, connectionLost: true };
    }
    throw new ReconfigError(
      'ConnectionLoss',
      after === undefined
        ? `${change.describe}: the connection was lost and the config could not be read again; its outcome is unknown`
        : `${change.describe}: the connection was lost and config ${after.version} does not show the change; it did not commit`,
      after,
      { cause: error },
    );
  }
  const { code, message } = classifyReconfigError(error, change.describe, fromVersion, authenticated);
  // After any refusal the config is read again: it may have changed, or committed anyway.
  const observed = await readCommittedConfig(options).catch(() => undefined);
  if (observed !== undefined && code !== 'BadVersion' && change.applied(observed)) {
    return { config: observed, alreadyApplied: false, connectionLost: false };
  }
  const seen =
    observed === undefined ? '' : ` (committed now: version ${observed.version}, voters ${observed.voters.join(',')})`;
  throw new ReconfigError(code, `${message}${seen}`, observed, { cause: error });
}

/** `reconfig -add <serverLine> -v <fromVersion>`. */
export function addMember(
  options: ReconfigClientOptions,
  serverLine: string,
  fromVersion: string,
): Promise<ReconfigResult> {
  const joining = parseServerLine(serverLine);
  return reconfigure(
    options,
    {
      describe: `adding server ${joining.myid} to config ${fromVersion}`,
      applied: (config) => config.members.some((m) => m.myid === joining.myid && m.role === joining.role),
      send: (session, version) => session.client.reconfig(joining.line, null, null, version) as Promise<unknown>,
    },
    fromVersion,
  );
}

/** `reconfig -remove <myid> -v <fromVersion>`. Removing the leader usually ends in ConnectionLoss; the re-read decides. */
export function removeMember(
  options: ReconfigClientOptions,
  myid: number,
  fromVersion: string,
): Promise<ReconfigResult> {
  return reconfigure(
    options,
    {
      describe: `removing server ${myid} from config ${fromVersion}`,
      applied: (config) => !config.members.some((m) => m.myid === myid),
      send: (session, version) => session.client.reconfig(null, String(myid), null, version) as Promise<unknown>,
    },
    fromVersion,
  );
}

/**
 * One committed write: an ephemeral sequential znode under `/`, gone when the session closes.
 * As the super user it needs no permission on `/`. A reconfig is committed before every member
 * of the new config has activated it; a later write commits only through the new config.
 */
export function commitWrite(options: ReconfigClientOptions): Promise<void> {
  return withSession(options, async (session) => {
    await session.client.create(
      '/zookeeper-operator-activation-',
      '',
      ZooKeeper.constants.ZOO_EPHEMERAL | ZooKeeper.constants.ZOO_SEQUENCE,
    );
  });
}
