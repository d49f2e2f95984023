/**
 * One ZooKeeper client session over TCP, in TypeScript: connect to one of the given servers,
 * send requests in order, keep the session alive with pings, close it once.
 *
 * Why our own: the operator needs only a handful of requests, among them reconfig, which the
 * pure-JS client on npm lacks; the native binding of the C client did have it, but it aborted a
 * Node process under load (its poll handle and the C client's socket went out of step). Here a
 * socket belongs to one session, and every failure is a rejected promise.
 *
 * A session never moves to another server: when its connection drops, every pending request
 * fails with ConnectionLoss (its outcome unknown) and the session is closed. Callers open a new
 * one; the operator's sessions are short, one per membership read or change.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { type DigestCredentials, respondToChallenge, serverProvedPassword } from './sasl-digest.js';
import { describeEndpoint, openSocket, type TlsTarget } from './transport.js';
import {
  type Acl,
  type CreateMode,
  type DataAndStat,
  decodeChildren,
  decodeConnectResponse,
  decodeDataAndStat,
  decodeReplyHeader,
  decodeSaslToken,
  ERROR_CODE,
  encodeConnectRequest,
  encodeRequest,
  errorName,
  JuteReader,
  type JuteWriter,
  OP,
  splitFrames,
  WireProtocolError,
  writeAuth,
  writeCreate,
  writeCreateWithAcl,
  writeReconfig,
  writeSaslToken,
  XID,
} from './wire-protocol.js';

/**
 * A server to connect to: `host:port` of a plaintext client port, or `address` (`host:port` of a
 * secure client port) spoken to over TLS as `tls` says. A session never moves a server from one
 * kind to the other.
 */
export type SessionServer = string | { address: string; tls: TlsTarget };

export interface SessionOptions {
  /** Client ports; one is picked at random, the others are tried when it fails. */
  servers: readonly SessionServer[];
  /** Asked of the server, which bounds it by its min/maxSessionTimeout. Default 10000. */
  sessionTimeoutMs?: number;
  /** How long to try the servers for a session. Default 15000. */
  connectTimeoutMs?: number;
}

export const SESSION_DEFAULTS = { sessionTimeoutMs: 10_000, connectTimeoutMs: 15_000 };

/** A request that ZooKeeper refused, or whose answer was lost. `code` is a `KeeperException.Code`. */
export class ZooKeeperError extends Error {
  override readonly name = 'ZooKeeperError';
  constructor(
    readonly code: number,
    readonly operation: string,
    detail?: string,
    options?: { cause?: unknown },
  ) {
    super(`${operation}: ${errorName(code)} (${code})${detail === undefined ? '' : `, ${detail}`}`, options);
  }
}

interface PendingRequest {
  xid: number;
  operation: string;
  decode(reader: JuteReader): unknown;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

interface Endpoint {
  host: string;
  port: number;
  tls: TlsTarget | undefined;
  /** How messages and `ZooKeeperSession.server` name it. */
  name: string;
}

/** `host:port`, `[v6]:port`, plaintext or with its TLS target. */
function parseServer(server: SessionServer): Endpoint {
  const address = typeof server === 'string' ? server : server.address;
  const tls = typeof server === 'string' ? undefined : server.tls;
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65_535) {
    throw new Error(`not a ZooKeeper address (host:port): ${JSON.stringify(address)}`);
  }
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host, port, tls, name: describeEndpoint(host, port, tls) };
}

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

/** A connected socket whose handshake succeeded, and the bytes that arrived after it. */
interface Handshake {
  socket: Socket;
  timeoutMs: number;
  sessionId: bigint;
  rest: Buffer;
}

/**
 * One TCP connection and handshake. A server that is not serving (no quorum, still syncing)
 * closes the connection instead of answering; that is a failed attempt like any other.
 */
function handshake(server: Endpoint, sessionTimeoutMs: number, attemptMs: number): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = openSocket(server.host, server.port, server.tls, () =>
      socket.write(encodeConnectRequest(sessionTimeoutMs)),
    );
    let received: Buffer = Buffer.alloc(0);
    const fail = (reason: string) => {
      cleanup();
      // A late error from a socket given up on must not become an uncaught exception.
      socket.on('error', () => {});
      socket.destroy();
      reject(new Error(`${server.name}: ${reason}`));
    };
    const timer = setTimeout(() => fail(`no session within ${attemptMs} ms`), attemptMs);
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      let split: ReturnType<typeof splitFrames>;
      try {
        split = splitFrames(received);
      } catch (error) {
        fail((error as Error).message);
        return;
      }
      const [first] = split.frames;
      if (first === undefined) return;
      let answer: ReturnType<typeof decodeConnectResponse>;
      try {
        answer = decodeConnectResponse(first);
      } catch (error) {
        fail(`unreadable handshake answer: ${(error as Error).message}`);
        return;
      }
      if (answer.timeoutMs <= 0) {
        fail('the server refused the session');
        return;
      }
      cleanup();
      // Paused until the session listens, so that no answer is emitted to nobody.
      socket.pause();
      // Whatever followed the handshake answer (its length prefix and body) belongs to the session.
      const rest = received.subarray(4 + first.length);
      resolve({ socket, timeoutMs: answer.timeoutMs, sessionId: answer.sessionId, rest });
    };
    const onError = (error: Error) => fail(error.message);
    const onClose = () => fail('the server closed the connection before the session was established');
    function cleanup() {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    }
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
  });
}

export class ZooKeeperSession {
  private nextXid = 1;
  private readonly pending: PendingRequest[] = [];
  /** Auth answers come back out of order (the server answers them on receipt), so they queue apart. */
  private readonly pendingAuth: { resolve(): void; reject(error: Error): void }[] = [];
  /** SASL answers too, but they carry their request's xid. */
  private readonly pendingSasl = new Map<number, { resolve(token: Buffer | null): void; reject(error: Error): void }>();
  private received: Buffer = Buffer.alloc(0);
  private lastReceivedAt = Date.now();
  private lastSentAt = Date.now();
  private closedBy: Error | undefined;
  private closing: Promise<void> | undefined;
  private readonly keepAlive: NodeJS.Timeout;

  private constructor(
    private readonly socket: Socket,
    /** The server this session is connected to: `host:port`, and over TLS the name verified. */
    readonly server: string,
    /** The timeout the server granted. */
    readonly timeoutMs: number,
    readonly sessionId: bigint,
    rest: Buffer,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.lose(`the connection to ${server} failed: ${error.message}`));
    socket.on('close', () => this.lose(`the connection to ${server} closed`));
    // As ZooKeeper's own clients do: ping after a third of the timeout without sending, and give
    // the connection up after two thirds of it without hearing anything (a stopped or cut-off server).
    this.keepAlive = setInterval(() => this.tick(), Math.max(50, Math.floor(timeoutMs / 6)));
    this.keepAlive.unref();
    if (rest.length > 0) this.onData(rest);
    socket.resume();
  }

  /** A session with one of `options.servers`, tried in random order until the connect timeout. */
  static async open(options: SessionOptions): Promise<ZooKeeperSession> {
    if (options.servers.length === 0) throw new Error('no ZooKeeper server address to connect to');
    const servers = options.servers.map(parseServer);
    const sessionTimeoutMs = options.sessionTimeoutMs ?? SESSION_DEFAULTS.sessionTimeoutMs;
    const connectTimeoutMs = options.connectTimeoutMs ?? SESSION_DEFAULTS.connectTimeoutMs;
    const deadline = Date.now() + connectTimeoutMs;
    const failures: string[] = [];
    for (let round = 0; ; round++) {
      for (const server of shuffled(servers)) {
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new Error(
            `no ZooKeeper session with ${servers.map((s) => s.name).join(', ')} within ${connectTimeoutMs} ms (last: ${failures.slice(-servers.length).join('; ')})`,
          );
        }
        try {
          const done = await handshake(server, sessionTimeoutMs, Math.min(left, 5_000));
          return new ZooKeeperSession(done.socket, server.name, done.timeoutMs, done.sessionId, done.rest);
        } catch (error) {
          failures.push((error as Error).message);
        }
      }
      // Every server refused: an election may be running. Back off a little before the next round.
      await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 100 * 2 ** round)));
    }
  }

  /** False once the connection dropped or `close()` was called; then no request is sent. */
  get isOpen(): boolean {
    return this.closedBy === undefined && this.closing === undefined;
  }

  create(path: string, data: string | Uint8Array, mode: CreateMode): Promise<string> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    return this.request(
      `create ${path}`,
      OP.create,
      (writer) => writeCreate(writer, path, bytes, mode),
      (reader) => reader.string() ?? '',
    );
  }

  /** Creates a znode that only the identities `acl` names may use. */
  createWithAcl(path: string, data: string | Uint8Array, acl: readonly Acl[], mode: CreateMode): Promise<string> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    return this.request(
      `create ${path}`,
      OP.create,
      (writer) => writeCreateWithAcl(writer, path, bytes, acl, mode),
      (reader) => reader.string() ?? '',
    );
  }

  getData(path: string): Promise<DataAndStat> {
    return this.request(`getData ${path}`, OP.getData, (writer) => writer.string(path).bool(false), decodeDataAndStat);
  }

  getChildren(path: string): Promise<string[]> {
    return this.request(
      `getChildren ${path}`,
      OP.getChildren,
      (writer) => writer.string(path).bool(false),
      decodeChildren,
    );
  }

  /** Brings the connected server up to date with the leader for `path`. */
  async sync(path: string): Promise<void> {
    await this.request(
      `sync ${path}`,
      OP.sync,
      (writer) => writer.string(path),
      () => undefined,
    );
  }

  /** Incremental (`joining`/`leaving`) or bulk (`newMembers`) reconfig, if the config is still `fromConfigId`. */
  reconfig(
    joining: string | null,
    leaving: string | null,
    newMembers: string | null,
    fromConfigId: bigint,
  ): Promise<DataAndStat> {
    return this.request(
      `reconfig ${[joining && `+${joining}`, leaving && `-${leaving}`, newMembers && `=${newMembers}`].filter(Boolean).join(' ')}`,
      OP.reconfig,
      (writer) => writeReconfig(writer, joining, leaving, newMembers, fromConfigId),
      decodeDataAndStat,
    );
  }

  /** Adds credentials to the session (e.g. `digest`, `user:password`). A failed auth ends the session. */
  addAuth(scheme: string, credentials: string): Promise<void> {
    const refused = this.refusal(`auth ${scheme}`);
    if (refused !== undefined) return Promise.reject(refused);
    return new Promise((resolve, reject) => {
      this.pendingAuth.push({ resolve, reject });
      this.send(encodeRequest(XID.auth, OP.auth, (writer) => writeAuth(writer, scheme, Buffer.from(credentials))));
    });
  }

  /**
   * Logs the session in as a SASL DIGEST-MD5 user (`sasl-digest.ts`): its ACL identity becomes
   * `sasl:<username>`. Resolves once the server has also proved that it knows the password.
   * ZooKeeper answers a wrong password with AuthFailed and ends the session. Call it before any
   * other request: the server answers SASL at once, ahead of requests still in its pipeline.
   */
  async authenticateSasl(credentials: DigestCredentials): Promise<void> {
    const challenge = await this.saslStep(Buffer.alloc(0));
    if (challenge === null) throw new ZooKeeperError(ERROR_CODE.authFailed, 'sasl', 'the server sent no challenge');
    const { response, exchange } = respondToChallenge(
      challenge.toString('utf8'),
      credentials,
      randomBytes(24).toString('base64'),
    );
    const final = await this.saslStep(Buffer.from(response, 'utf8'));
    if (final === null || !serverProvedPassword(final.toString('utf8'), credentials, exchange)) {
      await this.close();
      throw new ZooKeeperError(
        ERROR_CODE.authFailed,
        'sasl',
        `${this.server} did not prove that it knows the password of ${credentials.username}`,
      );
    }
  }

  private saslStep(token: Buffer): Promise<Buffer | null> {
    const refused = this.refusal('sasl');
    if (refused !== undefined) return Promise.reject(refused);
    const xid = this.nextXid++;
    return new Promise((resolve, reject) => {
      this.pendingSasl.set(xid, { resolve, reject });
      this.send(encodeRequest(xid, OP.sasl, (writer) => writeSaslToken(writer, token)));
    });
  }

  /** Ends the session on the server (its ephemeral znodes go) and the connection. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.end();
    return this.closing;
  }

  private async end(): Promise<void> {
    if (this.closedBy === undefined) {
      const xid = this.nextXid++;
      const answered = new Promise<void>((resolve) => {
        this.pending.push({
          xid,
          operation: 'closeSession',
          decode: () => undefined,
          resolve,
          reject: () => resolve(),
        });
      });
      this.send(encodeRequest(xid, OP.closeSession));
      // The server answers at once; a server that does not will drop the session on its timeout.
      await Promise.race([answered, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
    }
    this.lose('the session was closed');
    this.socket.destroy();
  }

  private refusal(operation: string): ZooKeeperError | undefined {
    if (this.isOpen) return undefined;
    return new ZooKeeperError(
      ERROR_CODE.connectionLoss,
      operation,
      `not sent: ${this.closedBy?.message ?? 'the session is closing'}`,
    );
  }

  private request<T>(
    operation: string,
    op: number,
    body: (writer: JuteWriter) => void,
    decode: (reader: JuteReader) => T,
  ): Promise<T> {
    const refused = this.refusal(operation);
    if (refused !== undefined) return Promise.reject(refused);
    const xid = this.nextXid++;
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ xid, operation, decode, resolve: resolve as (value: unknown) => void, reject });
      this.send(encodeRequest(xid, op, body));
    });
  }

  private send(frame: Buffer): void {
    this.lastSentAt = Date.now();
    this.socket.write(frame);
  }

  private tick(): void {
    const now = Date.now();
    if (now - this.lastReceivedAt > (this.timeoutMs * 2) / 3) {
      this.lose(`no answer from ${this.server} for ${now - this.lastReceivedAt} ms`);
      this.socket.destroy();
    } else if (now - this.lastSentAt >= this.timeoutMs / 3) {
      this.send(encodeRequest(XID.ping, OP.ping));
    }
  }

  private onData(chunk: Buffer): void {
    this.lastReceivedAt = Date.now();
    this.received = Buffer.concat([this.received, chunk]);
    try {
      const { frames, rest } = splitFrames(this.received);
      this.received = rest;
      for (const frame of frames) this.onReply(frame);
    } catch (error) {
      const reason = error instanceof WireProtocolError ? error.message : String(error);
      this.lose(`unreadable answer from ${this.server}: ${reason}`);
      this.socket.destroy();
    }
  }

  private onReply(frame: Buffer): void {
    const reader = new JuteReader(frame);
    const header = decodeReplyHeader(reader);
    if (header.xid === XID.notification || header.xid === XID.ping) return;
    if (header.xid === XID.auth) {
      const waiting = this.pendingAuth.shift();
      if (header.err === 0) waiting?.resolve();
      else waiting?.reject(new ZooKeeperError(header.err, 'auth'));
      return;
    }
    const sasl = this.pendingSasl.get(header.xid);
    if (sasl !== undefined) {
      this.pendingSasl.delete(header.xid);
      if (header.err === 0) sasl.resolve(decodeSaslToken(reader));
      else sasl.reject(new ZooKeeperError(header.err, 'sasl'));
      return;
    }
    const request = this.pending[0];
    if (request === undefined || request.xid !== header.xid) {
      // Left pending, so that losing the connection rejects it.
      throw new WireProtocolError(`answer for xid ${header.xid} while waiting for xid ${request?.xid ?? 'none'}`);
    }
    this.pending.shift();
    if (header.err !== 0) {
      request.reject(new ZooKeeperError(header.err, request.operation));
      return;
    }
    let value: unknown;
    try {
      value = request.decode(reader);
    } catch (error) {
      request.reject(
        new ZooKeeperError(ERROR_CODE.connectionLoss, request.operation, 'unreadable answer', { cause: error }),
      );
      throw error;
    }
    request.resolve(value);
  }

  /** The connection is gone: every request still waiting has an unknown outcome. */
  private lose(reason: string): void {
    if (this.closedBy !== undefined) return;
    this.closedBy = new Error(reason);
    clearInterval(this.keepAlive);
    for (const request of this.pending.splice(0)) {
      request.reject(new ZooKeeperError(ERROR_CODE.connectionLoss, request.operation, reason));
    }
    for (const auth of this.pendingAuth.splice(0)) {
      auth.reject(new ZooKeeperError(ERROR_CODE.connectionLoss, 'auth', reason));
    }
    for (const sasl of this.pendingSasl.values()) {
      sasl.reject(new ZooKeeperError(ERROR_CODE.connectionLoss, 'sasl', reason));
    }
    this.pendingSasl.clear();
  }
}
