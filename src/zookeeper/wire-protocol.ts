/**
 * ZooKeeper's client wire protocol (jute records over length-prefixed frames), for the few
 * requests the operator and its tests send: the session handshake, ping, auth, sasl, create,
 * getData, getChildren, sync, reconfig and closeSession. Pure: bytes in, records out.
 *
 * Jute encodes big-endian: int (4 bytes), long (8), boolean (1), buffer and string as an int
 * length then the bytes (-1 for null), vectors as an int count then the elements. Every frame
 * starts with its length as an int. Field orders follow `zookeeper-jute/src/main/resources/
 * zookeeper.jute` (3.8/3.9).
 */

/** Request types (`ZooDefs.OpCode`). */
export const OP = {
  create: 1,
  getData: 4,
  getChildren: 8,
  sync: 9,
  ping: 11,
  reconfig: 16,
  auth: 100,
  sasl: 102,
  closeSession: -11,
} as const;

/** Reserved transaction ids: watch notifications, pings and auth replies are not matched by order. */
export const XID = { notification: -1, ping: -2, auth: -4 } as const;

/** `KeeperException.Code` values the callers tell apart, by name. */
export const ERROR_CODE = {
  connectionLoss: -4,
  operationTimeout: -7,
  badArguments: -8,
  newConfigNoQuorum: -13,
  reconfigInProgress: -14,
  noNode: -101,
  noAuth: -102,
  badVersion: -103,
  nodeExists: -110,
  sessionExpired: -112,
  authFailed: -115,
  reconfigDisabled: -123,
} as const;

const ERROR_NAMES: Record<number, string> = {
  [-1]: 'SystemError',
  [-2]: 'RuntimeInconsistency',
  [-3]: 'DataInconsistency',
  [-4]: 'ConnectionLoss',
  [-5]: 'MarshallingError',
  [-6]: 'Unimplemented',
  [-7]: 'OperationTimeout',
  [-8]: 'BadArguments',
  [-12]: 'UnknownSession',
  [-13]: 'NewConfigNoQuorum',
  [-14]: 'ReconfigInProgress',
  [-100]: 'APIError',
  [-101]: 'NoNode',
  [-102]: 'NoAuth',
  [-103]: 'BadVersion',
  [-108]: 'NoChildrenForEphemerals',
  [-110]: 'NodeExists',
  [-111]: 'NotEmpty',
  [-112]: 'SessionExpired',
  [-114]: 'InvalidACL',
  [-115]: 'AuthFailed',
  [-118]: 'SessionMoved',
  [-119]: 'NotReadOnly',
  [-120]: 'EphemeralOnLocalSession',
  [-122]: 'RequestTimeout',
  [-123]: 'ReconfigDisabled',
  [-124]: 'SessionClosedRequireSaslAuth',
  [-125]: 'QuotaExceeded',
  [-127]: 'Throttled',
};

export function errorName(code: number): string {
  return ERROR_NAMES[code] ?? `Error${code}`;
}

/** `CreateMode` flags: ephemeral znodes go with the session, sequential ones get a counter suffix. */
export const CREATE_MODE = { persistent: 0, ephemeral: 1, sequential: 2, ephemeralSequential: 3 } as const;
export type CreateMode = (typeof CREATE_MODE)[keyof typeof CREATE_MODE];

/** `Perms.ALL` for `world:anyone`, ZooKeeper's OPEN_ACL_UNSAFE. */
const OPEN_ACL = [{ perms: 31, scheme: 'world', id: 'anyone' }] as const;

/** The largest frame accepted: jute.maxbuffer's default (0xfffff) with room for headers. */
export const MAX_FRAME_BYTES = 0x100000 + 1024;

/** A protocol violation by the peer: the connection cannot be trusted after it. */
export class WireProtocolError extends Error {
  override readonly name = 'WireProtocolError';
}

// ---- encoding --------------------------------------------------------------------------------

export class JuteWriter {
  private readonly chunks: Buffer[] = [];

  int(value: number): this {
    const chunk = Buffer.alloc(4);
    chunk.writeInt32BE(value);
    this.chunks.push(chunk);
    return this;
  }

  long(value: bigint): this {
    const chunk = Buffer.alloc(8);
    chunk.writeBigInt64BE(value);
    this.chunks.push(chunk);
    return this;
  }

  bool(value: boolean): this {
    this.chunks.push(Buffer.from([value ? 1 : 0]));
    return this;
  }

  buffer(value: Uint8Array | null): this {
    if (value === null) return this.int(-1);
    this.int(value.length);
    this.chunks.push(Buffer.from(value));
    return this;
  }

  string(value: string | null): this {
    return this.buffer(value === null ? null : Buffer.from(value, 'utf8'));
  }

  /** The record as one frame: its length, then its bytes. */
  frame(): Buffer {
    const body = Buffer.concat(this.chunks);
    const length = Buffer.alloc(4);
    length.writeInt32BE(body.length);
    return Buffer.concat([length, body]);
  }
}

export class JuteReader {
  private offset = 0;

  constructor(private readonly bytes: Buffer) {}

  private take(count: number): Buffer {
    if (count < 0 || this.offset + count > this.bytes.length) {
      throw new WireProtocolError(`record ends after ${this.bytes.length} bytes, ${count} more were expected`);
    }
    const slice = this.bytes.subarray(this.offset, this.offset + count);
    this.offset += count;
    return slice;
  }

  int(): number {
    return this.take(4).readInt32BE();
  }

  long(): bigint {
    return this.take(8).readBigInt64BE();
  }

  bool(): boolean {
    return this.take(1)[0] !== 0;
  }

  buffer(): Buffer | null {
    const length = this.int();
    return length < 0 ? null : Buffer.from(this.take(length));
  }

  string(): string | null {
    return this.buffer()?.toString('utf8') ?? null;
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }
}

/**
 * Splits received bytes into whole frames (without their length prefix) and what is left of
 * an incomplete one. A length outside 0…MAX_FRAME_BYTES is a protocol error.
 */
export function splitFrames(received: Buffer): { frames: Buffer[]; rest: Buffer } {
  const frames: Buffer[] = [];
  let offset = 0;
  while (received.length - offset >= 4) {
    const length = received.readInt32BE(offset);
    if (length < 0 || length > MAX_FRAME_BYTES) {
      throw new WireProtocolError(`frame length ${length} is outside 0…${MAX_FRAME_BYTES}`);
    }
    if (received.length - offset - 4 < length) break;
    frames.push(received.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  return { frames, rest: received.subarray(offset) };
}

// ---- records ---------------------------------------------------------------------------------

/** A fresh session: no previous zxid, id or password, not read-only. */
export function encodeConnectRequest(sessionTimeoutMs: number): Buffer {
  return new JuteWriter().int(0).long(0n).int(sessionTimeoutMs).long(0n).buffer(Buffer.alloc(16)).bool(false).frame();
}

export interface ConnectResponse {
  /** The negotiated session timeout; 0 or less means the server refused the session. */
  timeoutMs: number;
  sessionId: bigint;
}

export function decodeConnectResponse(frame: Buffer): ConnectResponse {
  const reader = new JuteReader(frame);
  reader.int(); // protocol version
  const timeoutMs = reader.int();
  const sessionId = reader.long();
  reader.buffer(); // session password, needed only to resume a session
  // The read-only flag that follows (3.4+) does not matter for a session that is never read-only.
  return { timeoutMs, sessionId };
}

/** `RequestHeader` and the request's own record, as one frame. */
export function encodeRequest(xid: number, op: number, body: (writer: JuteWriter) => void = () => {}): Buffer {
  const writer = new JuteWriter().int(xid).int(op);
  body(writer);
  return writer.frame();
}

export interface ReplyHeader {
  xid: number;
  zxid: bigint;
  /** 0, or a `KeeperException.Code`. */
  err: number;
}

export function decodeReplyHeader(reader: JuteReader): ReplyHeader {
  return { xid: reader.int(), zxid: reader.long(), err: reader.int() };
}

export interface Stat {
  czxid: bigint;
  mzxid: bigint;
  ctime: bigint;
  mtime: bigint;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  dataLength: number;
  numChildren: number;
  pzxid: bigint;
}

export function decodeStat(reader: JuteReader): Stat {
  return {
    czxid: reader.long(),
    mzxid: reader.long(),
    ctime: reader.long(),
    mtime: reader.long(),
    version: reader.int(),
    cversion: reader.int(),
    aversion: reader.int(),
    ephemeralOwner: reader.long(),
    dataLength: reader.int(),
    numChildren: reader.int(),
    pzxid: reader.long(),
  };
}

export interface DataAndStat {
  data: Buffer;
  stat: Stat;
}

/** `GetDataResponse`, also the answer to a reconfig (the new config). */
export function decodeDataAndStat(reader: JuteReader): DataAndStat {
  const data = reader.buffer() ?? Buffer.alloc(0);
  return { data, stat: decodeStat(reader) };
}

/** One ACL entry: `perms` is a sum of `PERMS`, `scheme:id` whom it grants them. */
export interface Acl {
  perms: number;
  scheme: string;
  id: string;
}

/** `ZooDefs.Perms`. */
export const PERMS = { read: 1, write: 2, create: 4, delete: 8, admin: 16, all: 31 } as const;

/** `CreateRequest` with the given ACL. */
export function writeCreateWithAcl(
  writer: JuteWriter,
  path: string,
  data: Uint8Array,
  acl: readonly Acl[],
  mode: CreateMode,
): void {
  writer.string(path).buffer(data).int(acl.length);
  for (const entry of acl) writer.int(entry.perms).string(entry.scheme).string(entry.id);
  writer.int(mode);
}

/** `CreateRequest` with the open ACL. */
export function writeCreate(writer: JuteWriter, path: string, data: Uint8Array, mode: CreateMode): void {
  writeCreateWithAcl(writer, path, data, OPEN_ACL, mode);
}

/** `GetChildrenResponse`: the children's names. */
export function decodeChildren(reader: JuteReader): string[] {
  const count = reader.int();
  const children: string[] = [];
  for (let i = 0; i < count; i++) children.push(reader.string() ?? '');
  return children;
}

/** `ReconfigRequest` in its incremental form (`newMembers` null) or its bulk form. */
export function writeReconfig(
  writer: JuteWriter,
  joining: string | null,
  leaving: string | null,
  newMembers: string | null,
  fromConfigId: bigint,
): void {
  writer.string(joining).string(leaving).string(newMembers).long(fromConfigId);
}

/** `GetSASLRequest`: the client's SASL token (the request of OpCode sasl). */
export function writeSaslToken(writer: JuteWriter, token: Uint8Array): void {
  writer.buffer(token);
}

/** `SetSASLResponse`: the server's SASL token, null when it has nothing more to say. */
export function decodeSaslToken(reader: JuteReader): Buffer | null {
  return reader.buffer();
}

/** `AuthPacket`: type 0, the scheme, the credentials. */
export function writeAuth(writer: JuteWriter, scheme: string, credentials: Uint8Array): void {
  writer.int(0).string(scheme).buffer(credentials);
}
