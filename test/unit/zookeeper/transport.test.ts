/**
 * The client edge's TLS against a stand-in member on loopback (Node's TLS server, with client
 * certificates required as members' `ssl.clientAuth=need`): the member is verified against the
 * CA and its DNS name, not the address dialled; the client presents its certificate; every
 * refusal is a rejection naming the member, and nothing is retried in plaintext. Real ZooKeeper
 * over TLS: test/integration/client-tls-zookeeper.test.ts.
 */
import { createServer as createTcpServer } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import test from 'ava';
import {
  createCertificateAuthority,
  issueCertificate,
  issueClientCertificate,
  type KeyedCertificate,
} from '../../../src/tls/x509.js';
import { memberStateReader } from '../../../src/zookeeper/ensemble-reader.js';
import { askFourLetterWord, sendFourLetterWord } from '../../../src/zookeeper/four-letter-word.js';
import type { ClientTls, TlsTarget } from '../../../src/zookeeper/transport.js';

const MEMBER_NAME = 'example-0.example-headless.zk.svc.cluster.local';
const HOUR = 3_600_000;

async function anAuthority(commonName: string): Promise<KeyedCertificate> {
  const now = Date.now();
  return createCertificateAuthority({
    commonName,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 3 * HOUR),
  });
}

async function clientOf(authority: KeyedCertificate, trusted: KeyedCertificate): Promise<ClientTls> {
  const now = Date.now();
  const issued = await issueClientCertificate(authority, {
    commonName: 'zookeeper-operator',
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + HOUR),
  });
  return { ca: trusted.certificatePem, cert: issued.certificatePem, key: issued.privateKeyPem };
}

/** A member serving TLS under `authority` as MEMBER_NAME: answers any word with a srvr-like line. */
async function tlsMember(authority: KeyedCertificate) {
  const now = Date.now();
  const own = await issueCertificate(authority, {
    commonName: 'example-0',
    dnsNames: [MEMBER_NAME],
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + HOUR),
  });
  const clients: string[] = [];
  const server = createTlsServer(
    {
      key: own.privateKeyPem,
      cert: own.certificatePem,
      ca: authority.certificatePem,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (socket: TLSSocket) => {
      clients.push(String(socket.getPeerCertificate().subject?.CN));
      socket.once('data', (word) => socket.end(`${word} answered: Zookeeper version: stand-in\n`));
    },
  );
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { port, clients, close: () => server.close() };
}

let authority: KeyedCertificate;
test.before(async () => {
  authority = await anAuthority('zookeeper-operator CA for zk/example');
});

test('a 4lw over TLS reaches the member verified by its DNS name, dialled by IP, presenting the client certificate', async (t) => {
  const member = await tlsMember(authority);
  t.teardown(() => member.close());
  const tls: TlsTarget = { credentials: await clientOf(authority, authority), serverName: MEMBER_NAME };

  const answer = await askFourLetterWord('127.0.0.1', member.port, 'srvr', 3_000, tls);

  t.is(answer, 'srvr answered: Zookeeper version: stand-in\n');
  t.deepEqual(member.clients, ['zookeeper-operator']);
});

test('a member whose certificate does not name the expected server is refused, naming the member and the name', async (t) => {
  const member = await tlsMember(authority);
  t.teardown(() => member.close());
  const tls: TlsTarget = {
    credentials: await clientOf(authority, authority),
    serverName: 'example-1.example-headless.zk.svc.cluster.local',
  };

  const error = await t.throwsAsync(askFourLetterWord('127.0.0.1', member.port, 'srvr', 3_000, tls));

  t.regex(
    error?.message ?? '',
    new RegExp(
      `^4lw srvr to 127\\.0\\.0\\.1:${member.port} \\(TLS, verified as example-1\\.example-headless\\.zk\\.svc\\.cluster\\.local\\): .*altnames`,
    ),
  );
  t.deepEqual(member.clients, [], 'no word was sent to it');
});

test('a member of another CA is refused', async (t) => {
  const member = await tlsMember(await anAuthority('another CA'));
  t.teardown(() => member.close());
  const tls: TlsTarget = { credentials: await clientOf(authority, authority), serverName: MEMBER_NAME };

  const error = await t.throwsAsync(askFourLetterWord('127.0.0.1', member.port, 'srvr', 3_000, tls));

  t.regex(error?.message ?? '', /unable to verify the first certificate|self.signed|unable to get local issuer/i);
});

test('a client certificate of another CA is refused by the member: a rejection, not an empty answer', async (t) => {
  const member = await tlsMember(authority);
  t.teardown(() => member.close());
  const stranger = await anAuthority('another CA');
  const tls: TlsTarget = { credentials: await clientOf(stranger, authority), serverName: MEMBER_NAME };

  await t.throwsAsync(askFourLetterWord('127.0.0.1', member.port, 'srvr', 3_000, tls), {
    message: /^4lw srvr to 127\.0\.0\.1:\d+ \(TLS, verified as /,
  });
});

test('plaintext to a TLS port is a failure, not an empty answer', async (t) => {
  const member = await tlsMember(authority);
  t.teardown(() => member.close());

  await t.throwsAsync(askFourLetterWord('127.0.0.1', member.port, 'srvr', 3_000), {
    message: new RegExp(`^4lw srvr to 127\\.0\\.0\\.1:${member.port}: `),
  });
});

test('TLS to a plaintext port fails rather than speaking plaintext', async (t) => {
  const words: string[] = [];
  const plaintext = createTcpServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', (data) => {
      words.push(data.toString());
      socket.end('Zookeeper version: plaintext\n');
    });
  });
  await new Promise<void>((resolve) => plaintext.listen(0, '127.0.0.1', resolve));
  t.teardown(() => plaintext.close());
  const { port } = plaintext.address() as { port: number };
  const tls: TlsTarget = { credentials: await clientOf(authority, authority), serverName: MEMBER_NAME };

  await t.throwsAsync(askFourLetterWord('127.0.0.1', port, 'srvr', 3_000, tls));
  t.false(
    words.some((word) => word === 'srvr'),
    'the word never went out in plaintext',
  );
});

test('a word answered by silence is a failure naming the member', async (t) => {
  const silent = createTcpServer((socket) => socket.end());
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => silent.close());
  const { port } = silent.address() as { port: number };

  await t.throwsAsync(sendFourLetterWord('127.0.0.1', port, 'srvr'), {
    message: `4lw srvr to 127.0.0.1:${port}: the connection closed without an answer`,
  });
});

test('the member reader reads a member that serves TLS at its secure port only, and reuses no plaintext reading for it', async (t) => {
  const member = await tlsMember(authority);
  t.teardown(() => member.close());
  const plaintext = createTcpServer((socket) => socket.end('Zookeeper version: plaintext\n'));
  await new Promise<void>((resolve) => plaintext.listen(0, '127.0.0.1', resolve));
  t.teardown(() => plaintext.close());
  const { port: plainPort } = plaintext.address() as { port: number };
  const credentials = await clientOf(authority, authority);
  const reader = memberStateReader({ monotonicMs: () => 0 });
  const address = { pod: 'example-0', myid: 1, ip: '127.0.0.1' };

  const [plain] = await reader.read([address], { client: plainPort });
  const [secure] = await reader.read(
    [{ ...address, tls: { port: member.port, credentials, serverName: MEMBER_NAME } }],
    {
      client: plainPort,
    },
  );
  const [misnamed] = await reader.read(
    [
      {
        ...address,
        tls: { port: member.port, credentials, serverName: 'example-1.example-headless.zk.svc.cluster.local' },
      },
    ],
    { client: plainPort },
  );

  // Neither stand-in answers as a real member, so each reading says which one answered it.
  t.regex(plain?.unreachable ?? '', /Zookeeper version: plaintext/);
  t.regex(secure?.unreachable ?? '', /Zookeeper version: stand-in/, 'read over TLS, not the plaintext reading reused');
  t.deepEqual(member.clients, ['zookeeper-operator', 'zookeeper-operator', 'zookeeper-operator'], 'srvr, mntr, conf');
  t.regex(misnamed?.unreachable ?? '', /verified as example-1\..*altnames/);
});
