/**
 * The one place the operator opens a connection to a ZooKeeper client port, for 4lw and
 * sessions alike: plaintext TCP, or TLS when a `TlsTarget` is given.
 *
 * Over TLS the member is verified, never trusted on sight: its certificate must chain to `ca` and
 * name `serverName`. We connect by pod IP, which no member certificate names, so the identity is
 * checked against the member's DNS name (also sent as SNI), not the address dialled. The client
 * presents `cert`/`key`, as members require (`ssl.clientAuth=need`). A connection given TLS that
 * cannot be made is a failure; nothing here ever retries it in plaintext.
 */
import { connect as connectTcp, type Socket } from 'node:net';
import { checkServerIdentity, connect as connectTls } from 'node:tls';

/** The operator's client credentials, PEM text: the trusted CA bundle, its certificate and its private key. */
export interface ClientTls {
  ca: string;
  cert: string;
  key: string;
}

/** TLS to one member: the credentials to use, and the DNS name the member's certificate must carry. */
export interface TlsTarget {
  credentials: ClientTls;
  serverName: string;
}

/** `host:port`, and over TLS the name verified: how errors name a connection. */
export function describeEndpoint(host: string, port: number, tls: TlsTarget | undefined): string {
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return tls === undefined ? address : `${address} (TLS, verified as ${tls.serverName})`;
}

/**
 * Opens a connection to host:port and calls `onOpen` once it may carry the protocol: when TCP
 * connects, or over TLS when the handshake and the checks of the member's certificate succeeded.
 * Every failure, a refused certificate among them, arrives as the socket's `error` event.
 */
export function openSocket(host: string, port: number, tls: TlsTarget | undefined, onOpen: () => void): Socket {
  if (tls === undefined) {
    const socket = connectTcp({ host, port, noDelay: true });
    socket.once('connect', onOpen);
    return socket;
  }
  const { credentials, serverName } = tls;
  const socket = connectTls({
    host,
    port,
    servername: serverName,
    ca: credentials.ca,
    // The cluster's CA may be an intermediate of the user's PKI: trusted as an anchor of its own,
    // as the members' Java trust stores do, rather than the whole root it chains to.
    allowPartialTrustChain: true,
    cert: credentials.cert,
    key: credentials.key,
    rejectUnauthorized: true,
    // Node checks against `servername` already; said here so that no later change of the dialled
    // host (an IP no certificate names) can weaken the check.
    checkServerIdentity: (_host, certificate) => checkServerIdentity(serverName, certificate),
  });
  socket.setNoDelay(true);
  socket.once('secureConnect', onOpen);
  return socket;
}
