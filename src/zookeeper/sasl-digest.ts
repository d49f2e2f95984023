/**
 * The client side of SASL DIGEST-MD5 (RFC 2831) as ZooKeeper's servers speak it: the server's
 * SASL server is `Sasl.createSaslServer("DIGEST-MD5", "zookeeper", "zk-sasl-md5", …)`, so the
 * realm is `zk-sasl-md5` and the digest-uri `zookeeper/zk-sasl-md5`; quality of protection `auth`
 * only (authentication, no integrity or privacy layer). Pure apart from the client nonce, which
 * the caller passes in.
 *
 * Exchange: the client sends an empty token, the server answers with a challenge, the client
 * with its response, the server with `rspauth`, which proves that it knows the password too.
 */
import { createHash } from 'node:crypto';

export const ZOOKEEPER_SASL = { protocol: 'zookeeper', serverName: 'zk-sasl-md5' } as const;

export interface DigestChallenge {
  realm: string | undefined;
  nonce: string;
  qop: string[];
  charset: string | undefined;
  algorithm: string;
}

export interface DigestCredentials {
  username: string;
  password: string;
}

/** The directives of a challenge or a server's final answer: `key=value` or `key="quoted \" value"`, comma-separated. */
export function parseDirectives(token: string): Map<string, string> {
  const directives = new Map<string, string>();
  const pattern = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s"]*))\s*(?:,|$)/gy;
  let match: RegExpExecArray | null;
  let end = 0;
  for (match = pattern.exec(token); match !== null && match[0] !== ''; match = pattern.exec(token)) {
    const [, key = '', quoted, plain] = match;
    directives.set(key.toLowerCase(), quoted === undefined ? (plain ?? '') : quoted.replace(/\\(.)/g, '$1'));
    end = pattern.lastIndex;
  }
  if (end !== token.length) throw new Error(`unreadable DIGEST-MD5 directives at character ${end}: ${token}`);
  return directives;
}

export function parseChallenge(token: string): DigestChallenge {
  const directives = parseDirectives(token);
  const nonce = directives.get('nonce');
  const algorithm = directives.get('algorithm');
  if (nonce === undefined) throw new Error(`DIGEST-MD5 challenge without a nonce: ${token}`);
  if (algorithm !== 'md5-sess')
    throw new Error(`DIGEST-MD5 challenge with algorithm ${algorithm ?? 'missing'}, not md5-sess`);
  return {
    realm: directives.get('realm'),
    nonce,
    qop: (directives.get('qop') ?? 'auth').split(',').map((q) => q.trim()),
    charset: directives.get('charset'),
    algorithm,
  };
}

const md5 = (...parts: (string | Buffer)[]): Buffer => {
  const hash = createHash('md5');
  for (const part of parts) hash.update(part);
  return hash.digest();
};
const hex = (bytes: Buffer): string => bytes.toString('hex');

/**
 * RFC 2831 2.1.2.1: with charset=utf-8, a string whose characters all fit ISO 8859-1 is hashed
 * as ISO 8859-1, any other as UTF-8; without it, ISO 8859-1.
 */
function credentialBytes(value: string, utf8: boolean): Buffer {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the whole ISO 8859-1 range.
  return utf8 && !/^[\u0000-\u00ff]*$/.test(value) ? Buffer.from(value, 'utf8') : Buffer.from(value, 'latin1');
}

export interface DigestExchange {
  realm: string;
  nonce: string;
  cnonce: string;
  nonceCount: string;
  qop: 'auth';
  digestUri: string;
  utf8: boolean;
}

/** H(A1) for md5-sess without an authorization id: H( H(user:realm:password) : nonce : cnonce ). */
function hashA1(credentials: DigestCredentials, exchange: DigestExchange): Buffer {
  const { username, password } = credentials;
  const secret = md5(
    credentialBytes(username, exchange.utf8),
    `:${exchange.realm}:`,
    credentialBytes(password, exchange.utf8),
  );
  return md5(secret, `:${exchange.nonce}:${exchange.cnonce}`);
}

/** `response` (client, A2 = "AUTHENTICATE:" digest-uri) or `rspauth` (server, A2 = ":" digest-uri). */
export function digestResponse(
  credentials: DigestCredentials,
  exchange: DigestExchange,
  side: 'client' | 'server',
): string {
  const a2 = `${side === 'client' ? 'AUTHENTICATE' : ''}:${exchange.digestUri}`;
  const kd = `${hex(hashA1(credentials, exchange))}:${exchange.nonce}:${exchange.nonceCount}:${exchange.cnonce}:${exchange.qop}:${hex(md5(a2))}`;
  return hex(md5(kd));
}

const quoted = (value: string): string => `"${value.replace(/(["\\])/g, '\\$1')}"`;

/** The client's answer to `challenge`, and the exchange it was computed for (to check the server's rspauth with). */
export function respondToChallenge(
  challengeToken: string,
  credentials: DigestCredentials,
  cnonce: string,
): { response: string; exchange: DigestExchange } {
  const challenge = parseChallenge(challengeToken);
  if (!challenge.qop.includes('auth')) {
    throw new Error(`the DIGEST-MD5 challenge offers qop ${challenge.qop.join(',')}, not auth`);
  }
  const exchange: DigestExchange = {
    realm: challenge.realm ?? ZOOKEEPER_SASL.serverName,
    nonce: challenge.nonce,
    cnonce,
    nonceCount: '00000001',
    qop: 'auth',
    digestUri: `${ZOOKEEPER_SASL.protocol}/${ZOOKEEPER_SASL.serverName}`,
    utf8: challenge.charset === 'utf-8',
  };
  const directives = [
    ...(exchange.utf8 ? ['charset=utf-8'] : []),
    `username=${quoted(credentials.username)}`,
    `realm=${quoted(exchange.realm)}`,
    `nonce=${quoted(exchange.nonce)}`,
    `nc=${exchange.nonceCount}`,
    `cnonce=${quoted(exchange.cnonce)}`,
    `digest-uri=${quoted(exchange.digestUri)}`,
    `response=${digestResponse(credentials, exchange, 'client')}`,
    `qop=${exchange.qop}`,
  ];
  return { response: directives.join(','), exchange };
}

/** Whether the server's final token proves that it knows the user's password. */
export function serverProvedPassword(
  finalToken: string,
  credentials: DigestCredentials,
  exchange: DigestExchange,
): boolean {
  return parseDirectives(finalToken).get('rspauth') === digestResponse(credentials, exchange, 'server');
}
