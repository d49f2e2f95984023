/**
 * The reconfig edge: reads the committed membership (`sync`, then `/zookeeper/config`) and
 * changes it by one member with an incremental reconfig conditional on the version read.
 *
 * Contract:
 * - every call opens its own session, authenticates as the super user when a password is given
 *   (digest `super:<password>`; reconfig needs write permission on `/zookeeper/config`, which by
 *   default only the super user has), and closes the session exactly once, also on failure;
 * - an add or remove that the committed config already shows is not sent (a no-op reconfig
 *   still bumps the version);
 * - after ConnectionLoss or a timeout (expected when the leader removes itself) the config is
 *   read again through a new session: if it shows the change, the change committed;
 * - failures are `ReconfigError`s with a code (BadVersion, NewConfigNoQuorum, NotAuthenticated,
 *   …), a message that says what to do, and the config observed afterwards when it could be read.
 */
import {
  SESSION_DEFAULTS,
  type SessionOptions,
  type SessionServer,
  ZooKeeperError,
  ZooKeeperSession,
} from './session.js';
import { superAuth } from './super-digest.js';
import { CREATE_MODE, ERROR_CODE } from './wire-protocol.js';

export interface ReconfigClientOptions extends SessionOptions {
  /**
   * Members' client ports (`host:port`, or a secure client port with its TLS target); the client
   * connects to any of them and ZooKeeper forwards the reconfig to the leader. Pass the committed
   * voters that stay in the new config (as Strimzi does); a member being removed or a joiner
   * works too, but may drop the session.
   */
  servers: readonly SessionServer[];
  /** The super user's password (from the cluster's Secret). Reads work without; reconfig is refused. */
  superPassword?: string;
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
  /** Replaces a committed member's line (new host or ports), keeping its id and role. */
  move(serverLine: string, fromVersion: string): Promise<ReconfigResult>;
  /** One committed write, so that the latest config is active on every member of it. */
  commitWrite(): Promise<void>;
}

export function zookeeperMembership(options: ReconfigClientOptions): MembershipClient {
  return {
    read: () => readCommittedConfig(options),
    add: (serverLine, fromVersion) => addMember(options, serverLine, fromVersion),
    remove: (myid, fromVersion) => removeMember(options, myid, fromVersion),
    move: (serverLine, fromVersion) => moveMember(options, serverLine, fromVersion),
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

/**
 * Where a member serves clients: the `[addr:]port` after the `;`, the address defaulting to
 * `0.0.0.0` as ZooKeeper's does. Undefined for a line without one (then `clientPort` decides).
 */
export function clientEndpointOf(
  member: Pick<ConfigMember, 'clientAddress'>,
): { address: string; port: number } | undefined {
  if (member.clientAddress === undefined) return undefined;
  const separator = member.clientAddress.lastIndexOf(':');
  const port = Number(member.clientAddress.slice(separator + 1));
  const address = separator < 0 ? '0.0.0.0' : member.clientAddress.slice(0, separator);
  return Number.isInteger(port) && port > 0 ? { address, port } : undefined;
}

/** The same member at the same addresses: ZooKeeper may print a line differently than it was sent. */
export function sameServerLine(a: ConfigMember, b: ConfigMember): boolean {
  const ca = clientEndpointOf(a);
  const cb = clientEndpointOf(b);
  return (
    a.myid === b.myid &&
    a.host === b.host &&
    a.quorumPort === b.quorumPort &&
    a.electionPort === b.electionPort &&
    a.role === b.role &&
    ca?.address === cb?.address &&
    ca?.port === cb?.port
  );
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

/** ZooKeeper's error code for a refused or lost request, or undefined for any other error. */
export function returnCodeOf(error: unknown): number | undefined {
  return error instanceof ZooKeeperError ? error.code : undefined;
}

/** A lost answer: the request may or may not have been applied. */
export function isConnectionLoss(error: unknown): boolean {
  const rc = returnCodeOf(error);
  return rc === ERROR_CODE.connectionLoss || rc === ERROR_CODE.operationTimeout || rc === ERROR_CODE.sessionExpired;
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
    case ERROR_CODE.badVersion:
      return {
        code: 'BadVersion',
        message: `${change} was refused: the committed config is no longer version ${fromVersion} (someone else changed the membership); read it again and re-plan`,
      };
    case ERROR_CODE.newConfigNoQuorum:
      return {
        code: 'NewConfigNoQuorum',
        message: `${change} was refused: no quorum of the new config is connected and synced with the leader; wait until the members of the new config are up and synced`,
      };
    case ERROR_CODE.noAuth:
      return {
        code: 'NotAuthenticated',
        message: authenticated
          ? `${change} was refused: not authenticated. The super user password did not match: the servers must run with -Dzookeeper.DigestAuthenticationProvider.superDigest set to the digest of the password in the cluster's Secret`
          : `${change} was refused: not authenticated. Reconfig needs the super user: give the client the password whose digest the servers have in -Dzookeeper.DigestAuthenticationProvider.superDigest`,
      };
    case ERROR_CODE.reconfigInProgress:
      return { code: 'ReconfigInProgress', message: `${change} was refused: another reconfig is in progress; retry` };
    case ERROR_CODE.reconfigDisabled:
      return {
        code: 'ReconfigDisabled',
        message: `${change} was refused: reconfigEnabled is false on the leader`,
      };
    case ERROR_CODE.badArguments:
      return { code: 'BadArguments', message: `${change} was refused as invalid (${detail})` };
    default:
      return { code: 'Failed', message: `${change} failed: ${detail}` };
  }
}

// ---- sessions --------------------------------------------------------------------------------

const CONFIG_NODE = '/zookeeper/config';

async function readConfig(session: ZooKeeperSession): Promise<CommittedConfig> {
  await session.sync(CONFIG_NODE);
  return parseCommittedConfig((await session.getData(CONFIG_NODE)).data.toString('utf8'));
}

async function openSession(options: ReconfigClientOptions): Promise<ZooKeeperSession> {
  let session: ZooKeeperSession;
  try {
    session = await ZooKeeperSession.open(options);
  } catch (error) {
    throw new ReconfigError('NoSession', (error as Error).message, undefined, { cause: error });
  }
  if (options.superPassword === undefined) return session;
  try {
    await session.addAuth('digest', superAuth(options.superPassword));
    return session;
  } catch (error) {
    await session.close();
    throw error;
  }
}

async function withSession<T>(
  options: ReconfigClientOptions,
  use: (session: ZooKeeperSession) => Promise<T>,
): Promise<T> {
  const session = await openSession(options);
  try {
    return await use(session);
  } finally {
    await session.close();
  }
}

/** `sync`, then the committed config. */
export function readCommittedConfig(options: ReconfigClientOptions): Promise<CommittedConfig> {
  return withSession(options, readConfig);
}

/** Reads the config through new sessions until one answers (after a ConnectionLoss), or undefined. */
async function reread(options: ReconfigClientOptions): Promise<CommittedConfig | undefined> {
  const deadline = Date.now() + (options.connectTimeoutMs ?? SESSION_DEFAULTS.connectTimeoutMs);
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
  send(session: ZooKeeperSession, version: bigint): Promise<{ data: Buffer }>;
}

async function reconfigure(
  options: ReconfigClientOptions,
  change: Change,
  fromVersion: string,
): Promise<ReconfigResult> {
  if (!/^[0-9a-fA-F]+$/.test(fromVersion)) throw new Error(`config version ${JSON.stringify(fromVersion)} is not hex`);
  const authenticated = options.superPassword !== undefined;
  let current: CommittedConfig | undefined;
  let sent: { answer: { data: Buffer } } | { error: unknown };
  const session = await openSession(options);
  try {
    current = await readConfig(session);
    if (change.applied(current)) return { config: current, alreadyApplied: true, connectionLost: false };
    try {
      sent = { answer: await change.send(session, BigInt(`0x${fromVersion}`)) };
    } catch (error) {
      sent = { error };
    }
  } finally {
    await session.close();
  }

  if ('answer' in sent) {
    return {
      config: parseCommittedConfig(sent.answer.data.toString('utf8')),
      alreadyApplied: false,
      connectionLost: false,
    };
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
      send: (session, version) => session.reconfig(joining.line, null, null, version),
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
      send: (session, version) => session.reconfig(null, String(myid), null, version),
    },
    fromVersion,
  );
}

/**
 * `reconfig -add <serverLine> -v <fromVersion>` for a member already in the config: ZooKeeper
 * replaces its line (zookeeperReconfig.md: adding an existing server id with a new line modifies
 * it). The member rebinds a changed client address and restarts leader election on a changed
 * election address; a changed quorum address of the leader makes the followers elect again.
 */
export function moveMember(
  options: ReconfigClientOptions,
  serverLine: string,
  fromVersion: string,
): Promise<ReconfigResult> {
  const moved = parseServerLine(serverLine);
  return reconfigure(
    options,
    {
      describe: `moving server ${moved.myid} to ${moved.line} from config ${fromVersion}`,
      applied: (config) => config.members.some((m) => sameServerLine(m, moved)),
      send: (session, version) => session.reconfig(moved.line, null, null, version),
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
    await session.create('/zookeeper-operator-activation-', '', CREATE_MODE.ephemeralSequential);
  });
}
