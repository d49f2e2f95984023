/**
 * Parsers of ZooKeeper's answers into typed readings, for 3.8 and 3.9. Pure.
 *
 * A member that is up but has no quorum answers `srvr`, `mntr` and `conf` with
 * "This ZooKeeper instance is not currently serving requests": it is reachable, not serving.
 */

export const NOT_SERVING = 'This ZooKeeper instance is not currently serving requests';

export type ServerMode = 'leader' | 'follower' | 'observer' | 'standalone' | 'read-only';

export interface SrvrReading {
  version: string;
  mode: ServerMode;
  /** Last processed zxid as a hex string with 0x. */
  zxid: string;
  /** The epoch: the high 32 bits of the zxid. */
  epoch: number;
}

export interface MntrReading {
  serverState: string;
  /** e.g. `following - broadcast`; absent on standalone servers. */
  peerState?: string;
  /** Leader only. */
  quorumSize?: number;
  learners?: number;
  syncedFollowers?: number;
  syncedNonVotingFollowers?: number;
  syncedObservers?: number;
  pendingSyncs?: number;
}

export interface ConfMember {
  myid: number;
  host: string;
  role: 'participant' | 'observer';
  /**
   * The whole `server.N=…` line: where the member listens for peers and clients. Always set by
   * the parsers; optional so readings written by hand (tests, the bench) may leave it out.
   */
  line?: string;
}

export interface ConfReading {
  serverId: number;
  /** The committed dynamic config this member knows. */
  members: ConfMember[];
  /** Hex version of that config (the zxid of its reconfig), without 0x. */
  configVersion?: string;
}

const isNotServing = (text: string) => text.includes(NOT_SERVING);

/** `srvr`; undefined when the member is not serving. */
export function parseSrvr(text: string): SrvrReading | undefined {
  if (isNotServing(text)) return undefined;
  const field = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(text)?.[1]?.trim();
  const mode = field('Mode');
  const zxid = field('Zxid');
  if (mode === undefined || zxid === undefined) {
    throw new Error(`unexpected srvr answer (no Mode or Zxid): ${JSON.stringify(text.slice(0, 200))}`);
  }
  const zxidValue = BigInt(zxid);
  return {
    version: field('Zookeeper version')?.split(/[-,]/)[0] ?? 'unknown',
    mode: mode as ServerMode,
    zxid,
    epoch: Number(zxidValue >> 32n),
  };
}

/** `mntr` (`zk_<key>\t<value>` lines); undefined when the member is not serving. */
export function parseMntr(text: string): MntrReading | undefined {
  if (isNotServing(text)) return undefined;
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const tab = line.indexOf('\t');
    if (line.startsWith('zk_') && tab > 0) values.set(line.slice(3, tab), line.slice(tab + 1).trim());
  }
  const serverState = values.get('server_state');
  if (serverState === undefined)
    throw new Error(`unexpected mntr answer (no zk_server_state): ${JSON.stringify(text.slice(0, 200))}`);
  const number = (key: string) => {
    const value = values.get(key);
    return value === undefined ? {} : { [camel(key)]: Number(value) };
  };
  return {
    serverState,
    ...(values.has('peer_state') ? { peerState: values.get('peer_state') as string } : {}),
    ...number('quorum_size'),
    // 3.6+ names it zk_learners; older servers zk_followers.
    ...(values.has('learners')
      ? number('learners')
      : values.has('followers')
        ? { learners: Number(values.get('followers')) }
        : {}),
    ...number('synced_followers'),
    ...number('synced_non_voting_followers'),
    ...number('synced_observers'),
    ...number('pending_syncs'),
  };
}

const camel = (key: string) => key.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());

/**
 * The `server.N=host:quorum:election[:role][;client]` lines of a dynamic config, as `conf`
 * prints them and as the rendered `zoo.cfg.dynamic` holds them.
 */
export function parseServerLines(text: string): ConfMember[] {
  return [...text.matchAll(/^server\.(\d+)=([^:;\n]+):\d+:\d+(?::(participant|observer))?.*$/gm)].map((match) => ({
    myid: Number(match[1]),
    host: match[2] ?? '',
    role: match[3] === 'observer' ? ('observer' as const) : ('participant' as const),
    line: match[0].trim(),
  }));
}

/** `conf`: the server's settings, then `membership:` with its `server.N` lines and `version=`. */
export function parseConf(text: string): ConfReading | undefined {
  if (isNotServing(text)) return undefined;
  const serverId = /^serverId=(\d+)$/m.exec(text)?.[1];
  if (serverId === undefined)
    throw new Error(`unexpected conf answer (no serverId): ${JSON.stringify(text.slice(0, 200))}`);
  const members = parseServerLines(text);
  const version = /^version=([0-9a-fA-F]+)$/m.exec(text)?.[1];
  return { serverId: Number(serverId), members, ...(version === undefined ? {} : { configVersion: version }) };
}
