import test from 'ava';
import fc from 'fast-check';
import {
  CREATE_MODE,
  decodeChildren,
  decodeConnectResponse,
  decodeDataAndStat,
  decodeReplyHeader,
  encodeConnectRequest,
  encodeRequest,
  errorName,
  JuteReader,
  JuteWriter,
  MAX_FRAME_BYTES,
  OP,
  splitFrames,
  WireProtocolError,
  writeAuth,
  writeCreate,
  writeReconfig,
} from '../../../src/zookeeper/wire-protocol.js';

const body = (frame: Buffer) => {
  const { frames, rest } = splitFrames(frame);
  if (frames.length !== 1 || rest.length !== 0) throw new Error('not exactly one frame');
  return frames[0] as Buffer;
};

test('the handshake asks for a fresh session with the given timeout', (t) => {
  // protocolVersion 0, lastZxidSeen 0, timeOut, sessionId 0, passwd (16 zero bytes), readOnly false.
  t.deepEqual(
    encodeConnectRequest(10_000).toString('hex'),
    [
      '0000002d',
      '00000000',
      '0000000000000000',
      '00002710',
      '0000000000000000',
      '00000010',
      '00'.repeat(16),
      '00',
    ].join(''),
  );
});

test('the handshake answer gives the negotiated timeout and the session id', (t) => {
  const answer = new JuteWriter()
    .int(0)
    .int(6_000)
    .long(0x1234_5678_9abcn)
    .buffer(Buffer.alloc(16, 7))
    .bool(false)
    .frame();
  t.deepEqual(decodeConnectResponse(body(answer)), { timeoutMs: 6_000, sessionId: 0x1234_5678_9abcn });
});

test('a create request carries the path, data, the open ACL and the mode', (t) => {
  const frame = encodeRequest(7, OP.create, (w) => writeCreate(w, '/a', Buffer.from('x'), CREATE_MODE.sequential));
  const r = new JuteReader(body(frame));
  t.deepEqual(
    [r.int(), r.int(), r.string(), r.buffer()?.toString(), r.int(), r.int(), r.string(), r.string(), r.int()],
    [7, 1, '/a', 'x', 1, 31, 'world', 'anyone', 2],
  );
  t.is(r.remaining, 0);
});

test('an incremental reconfig sends null for the fields it does not use', (t) => {
  const frame = encodeRequest(3, OP.reconfig, (w) => writeReconfig(w, null, '4', null, 0x100000005n));
  t.is(
    body(frame).toString('hex'),
    ['00000003', '00000010', 'ffffffff', '00000001', '34', 'ffffffff', '0000000100000005'].join(''),
  );
});

test('an auth packet is type 0, scheme, credentials, with the auth xid', (t) => {
  const r = new JuteReader(body(encodeRequest(-4, OP.auth, (w) => writeAuth(w, 'digest', Buffer.from('super:pw')))));
  t.deepEqual([r.int(), r.int(), r.int(), r.string(), r.string()], [-4, 100, 0, 'digest', 'super:pw']);
});

test('replies decode into header, data and stat, and children', (t) => {
  const stat = new JuteWriter()
    .long(1n)
    .long(2n)
    .long(3n)
    .long(4n)
    .int(5)
    .int(6)
    .int(7)
    .long(0n)
    .int(9)
    .int(10)
    .long(11n);
  const data = new JuteWriter().int(12).long(0x1_0000_0003n).int(0).string('server.1=a:1:2;3\nversion=100000003');
  const reader = new JuteReader(Buffer.concat([body(data.frame()), body(stat.frame())]));
  t.deepEqual(decodeReplyHeader(reader), { xid: 12, zxid: 0x1_0000_0003n, err: 0 });
  const { data: config, stat: decoded } = decodeDataAndStat(reader);
  t.is(config.toString(), 'server.1=a:1:2;3\nversion=100000003');
  t.is(decoded.version, 5);
  t.is(decoded.numChildren, 10);
  t.is(decoded.pzxid, 11n);

  const children = new JuteWriter().int(2).string('w-0000000001').string('w-0000000002').frame();
  t.deepEqual(decodeChildren(new JuteReader(body(children))), ['w-0000000001', 'w-0000000002']);
});

test('a record cut short is a protocol error, not a wrong value', (t) => {
  t.throws(() => new JuteReader(Buffer.from([0, 0, 0, 5, 1])).string(), { instanceOf: WireProtocolError });
  t.throws(() => new JuteReader(Buffer.from([0, 0])).int(), { instanceOf: WireProtocolError });
});

test('frame lengths outside the limit are refused before anything is buffered', (t) => {
  const huge = Buffer.alloc(4);
  huge.writeInt32BE(MAX_FRAME_BYTES + 1);
  t.throws(() => splitFrames(huge), { instanceOf: WireProtocolError, message: /outside/ });
  const negative = Buffer.from([0xff, 0xff, 0xff, 0xfe]);
  t.throws(() => splitFrames(negative), { instanceOf: WireProtocolError });
});

test('error codes have names, and unknown ones still say their number', (t) => {
  t.is(errorName(-103), 'BadVersion');
  t.is(errorName(-13), 'NewConfigNoQuorum');
  t.is(errorName(-999), 'Error-999');
});

test('property: strings, buffers, ints, longs and booleans survive a round trip', (t) => {
  fc.assert(
    fc.property(
      fc.option(fc.string({ unit: 'grapheme' }), { nil: null }),
      fc.option(fc.uint8Array({ maxLength: 64 }), { nil: null }),
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
      fc.boolean(),
      (text, bytes, int, long, bool) => {
        const r = new JuteReader(
          body(new JuteWriter().string(text).buffer(bytes).int(int).long(long).bool(bool).frame()),
        );
        t.is(r.string(), text);
        const decoded = r.buffer();
        t.deepEqual(decoded === null ? null : new Uint8Array(decoded), bytes === null ? null : new Uint8Array(bytes));
        t.is(r.int(), int);
        t.is(r.long(), long);
        t.is(r.bool(), bool);
        t.is(r.remaining, 0);
      },
    ),
  );
});

test('property: frames are found however the bytes are cut into chunks', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      (payloads, cuts) => {
        const stream = Buffer.concat(payloads.map((p) => new JuteWriter().buffer(p).frame()));
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        let pending: Buffer = Buffer.alloc(0);
        const seen: Buffer[] = [];
        let from = 0;
        for (const to of [...points, stream.length]) {
          const split = splitFrames(Buffer.concat([pending, stream.subarray(from, to)]));
          seen.push(...split.frames);
          pending = split.rest;
          from = to;
        }
        t.is(pending.length, 0);
        t.deepEqual(
          seen.map((frame) => [...(new JuteReader(frame).buffer() ?? [])]),
          payloads.map((p) => [...p]),
        );
      },
    ),
  );
});
