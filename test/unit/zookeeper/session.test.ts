/**
 * The session's error paths against a scripted server on loopback (the happy paths and real
 * refusals run against real ZooKeeper in test/integration/reconfig.test.ts).
 */
import { createServer, type Server, type Socket } from 'node:net';
import test from 'ava';
import { ZooKeeperError, ZooKeeperSession } from '../../../src/zookeeper/session.js';
import { CREATE_MODE, JuteReader, JuteWriter, OP, splitFrames, XID } from '../../../src/zookeeper/wire-protocol.js';

interface Request {
  xid: number;
  op: number;
  reader: JuteReader;
}

/** What the scripted server does with each request after the handshake (pings and closeSession are answered). */
type Script = (request: Request, socket: Socket) => void;

const reply = (socket: Socket, xid: number, err = 0, body: (w: JuteWriter) => void = () => {}) => {
  const writer = new JuteWriter().int(xid).long(1n).int(err);
  body(writer);
  socket.write(writer.frame());
};

async function scriptedServer(
  options: { handshake: 'answer' | 'close' | 'silent'; timeoutMs?: number; pings?: 'ignore' },
  script: Script,
) {
  const requests: Request[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    let received: Buffer = Buffer.alloc(0);
    let greeted = false;
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const { frames, rest } = splitFrames(received);
      received = rest;
      for (const frame of frames) {
        if (!greeted) {
          greeted = true;
          if (options.handshake === 'close') socket.destroy();
          if (options.handshake === 'answer') {
            socket.write(
              new JuteWriter()
                .int(0)
                .int(options.timeoutMs ?? 3_000)
                .long(42n)
                .buffer(Buffer.alloc(16))
                .bool(false)
                .frame(),
            );
          }
          continue;
        }
        const reader = new JuteReader(frame);
        const request = { xid: reader.int(), op: reader.int(), reader };
        requests.push(request);
        if (request.op === OP.ping) {
          if (options.pings !== 'ignore') reply(socket, XID.ping);
        } else if (request.op === OP.closeSession) {
          reply(socket, request.xid);
          socket.end();
        } else script(request, socket);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const created = (request: Request, socket: Socket) =>
  reply(socket, request.xid, 0, (w) => w.string(`${request.reader.string()}0000000001`));

test('a server that refuses the handshake is passed over for one that answers', async (t) => {
  const refusing = await scriptedServer({ handshake: 'close' }, () => {});
  const serving = await scriptedServer({ handshake: 'answer' }, created);
  t.teardown(() => Promise.all([refusing.stop(), serving.stop()]));
  const session = await ZooKeeperSession.open({
    servers: [refusing.address, serving.address],
    connectTimeoutMs: 5_000,
  });
  t.teardown(() => session.close());
  t.is(session.server, serving.address);
  t.is(session.sessionId, 42n);
  t.is(await session.create('/a', '', CREATE_MODE.sequential), '/a0000000001');
});

test('no session within the connect timeout is an error that names the servers', async (t) => {
  const silent = await scriptedServer({ handshake: 'silent' }, () => {});
  t.teardown(() => silent.stop());
  const error = await t.throwsAsync(ZooKeeperSession.open({ servers: [silent.address], connectTimeoutMs: 600 }));
  t.regex(error?.message ?? '', new RegExp(`no ZooKeeper session with ${silent.address} within 600 ms`));
});

test('a dropped connection fails pending requests with ConnectionLoss and sends nothing after', async (t) => {
  const server = await scriptedServer({ handshake: 'answer' }, (_request, socket) => socket.destroy());
  t.teardown(() => server.stop());
  const session = await ZooKeeperSession.open({ servers: [server.address] });
  const lost = await t.throwsAsync(session.create('/a', '', CREATE_MODE.persistent), { instanceOf: ZooKeeperError });
  t.is(lost?.code, -4);
  t.false(session.isOpen);
  const refused = await t.throwsAsync(session.getData('/b'), { instanceOf: ZooKeeperError });
  t.is(refused?.code, -4);
  t.regex(refused?.message ?? '', /not sent/);
  t.deepEqual(
    server.requests.map((r) => r.op),
    [OP.create],
  );
  await session.close();
});

test('a server that stops answering is given up after two thirds of the session timeout', async (t) => {
  const server = await scriptedServer({ handshake: 'answer', timeoutMs: 600, pings: 'ignore' }, () => {});
  t.teardown(() => server.stop());
  const session = await ZooKeeperSession.open({ servers: [server.address], sessionTimeoutMs: 600 });
  const lost = await t.throwsAsync(session.sync('/'), { instanceOf: ZooKeeperError });
  t.is(lost?.code, -4);
  t.regex(lost?.message ?? '', /no answer from/);
  t.false(session.isOpen);
});

test('an answer for another request is a protocol error that ends the session', async (t) => {
  const server = await scriptedServer({ handshake: 'answer' }, (request, socket) => reply(socket, request.xid + 10));
  t.teardown(() => server.stop());
  const session = await ZooKeeperSession.open({ servers: [server.address] });
  const lost = await t.throwsAsync(session.sync('/'), { instanceOf: ZooKeeperError });
  t.is(lost?.code, -4);
  t.regex(lost?.message ?? '', /answer for xid \d+ while waiting for xid \d+/);
  t.false(session.isOpen);
});

test('a refusal rejects only its request; the session goes on', async (t) => {
  const server = await scriptedServer({ handshake: 'answer' }, (request, socket) => {
    if (request.op === OP.reconfig) reply(socket, request.xid, -103);
    else if (request.op === OP.getChildren) reply(socket, request.xid, 0, (w) => w.int(1).string('child'));
  });
  t.teardown(() => server.stop());
  const session = await ZooKeeperSession.open({ servers: [server.address] });
  t.teardown(() => session.close());
  const refused = await t.throwsAsync(session.reconfig(null, '3', null, 0x100000000n), { instanceOf: ZooKeeperError });
  t.is(refused?.code, -103);
  t.is(refused?.message, 'reconfig -3: BadVersion (-103)');
  t.true(session.isOpen);
  t.deepEqual(await session.getChildren('/'), ['child']);
});

test('an auth answer that overtakes an earlier answer goes to the auth', async (t) => {
  let heldCreate: Request | undefined;
  const server = await scriptedServer({ handshake: 'answer' }, (request, socket) => {
    if (request.op === OP.create) heldCreate = request;
    if (request.op === OP.auth) {
      reply(socket, XID.auth);
      if (heldCreate !== undefined) created(heldCreate, socket);
    }
  });
  t.teardown(() => server.stop());
  const session = await ZooKeeperSession.open({ servers: [server.address] });
  t.teardown(() => session.close());
  const [path] = await Promise.all([
    session.create('/x', '', CREATE_MODE.sequential),
    session.addAuth('digest', 'super:pw'),
  ]);
  t.is(path, '/x0000000001');
});

test('close ends the session on the server once, however often it is called', async (t) => {
  const server = await scriptedServer({ handshake: 'answer' }, () => {});
  t.teardown(() => server.stop());
  const session = await ZooKeeperSession.open({ servers: [server.address] });
  await Promise.all([session.close(), session.close()]);
  await session.close();
  t.false(session.isOpen);
  t.deepEqual(
    server.requests.filter((r) => r.op !== OP.ping).map((r) => r.op),
    [OP.closeSession],
  );
});
