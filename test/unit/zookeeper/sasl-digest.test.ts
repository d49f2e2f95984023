/**
 * SASL DIGEST-MD5 as the client computes it: RFC 2831's worked example (section 4), the
 * directives of a challenge, and the response ZooKeeper's realm and digest-uri need.
 */
import test from 'ava';
import {
  type DigestExchange,
  digestResponse,
  parseChallenge,
  parseDirectives,
  respondToChallenge,
  serverProvedPassword,
} from '../../../src/zookeeper/sasl-digest.js';
import {
  decodeSaslToken,
  encodeRequest,
  JuteReader,
  JuteWriter,
  OP,
  writeSaslToken,
} from '../../../src/zookeeper/wire-protocol.js';

/** RFC 2831 section 4: chris logs in to IMAP at elwood.innosoft.com with password "secret". */
const rfc = {
  credentials: { username: 'chris', password: 'secret' },
  exchange: {
    realm: 'elwood.innosoft.com',
    nonce: 'OA6MG9tEQGm2hh',
    cnonce: 'OA6MHXh6VqTrRk',
    nonceCount: '00000001',
    qop: 'auth',
    digestUri: 'imap/elwood.innosoft.com',
    utf8: true,
  } satisfies DigestExchange,
};

test('the client response of RFC 2831’s worked example', (t) => {
  t.is(digestResponse(rfc.credentials, rfc.exchange, 'client'), 'd388dad90d4bbd760a152321f2143af7');
});

test('the server’s rspauth of RFC 2831’s worked example proves the password, and a wrong password’s does not', (t) => {
  const final = 'rspauth=ea40f60335c427b5527b84dbabcdfffd';
  t.is(digestResponse(rfc.credentials, rfc.exchange, 'server'), 'ea40f60335c427b5527b84dbabcdfffd');
  t.true(serverProvedPassword(final, rfc.credentials, rfc.exchange));
  t.false(serverProvedPassword(final, { ...rfc.credentials, password: 'secreT' }, rfc.exchange));
});

test('the directives of a challenge: quoted values unescaped, plain ones kept, keys case-insensitive', (t) => {
  t.deepEqual(
    [...parseDirectives('realm="zk-sasl-md5",nonce="a\\"b\\\\c",Charset=utf-8,algorithm=md5-sess')],
    [
      ['realm', 'zk-sasl-md5'],
      ['nonce', 'a"b\\c'],
      ['charset', 'utf-8'],
      ['algorithm', 'md5-sess'],
    ],
  );
  t.throws(() => parseDirectives('realm="unterminated'), { message: /unreadable DIGEST-MD5 directives/ });
});

test('a challenge without a nonce or with another algorithm is refused', (t) => {
  t.throws(() => parseChallenge('realm="r",algorithm=md5-sess'), { message: /without a nonce/ });
  t.throws(() => parseChallenge('nonce="n",algorithm=md5'), { message: /algorithm md5, not md5-sess/ });
  t.throws(() => respondToChallenge('nonce="n",qop="auth-conf",algorithm=md5-sess', rfc.credentials, 'c'), {
    message: /qop auth-conf, not auth/,
  });
});

test('the response to a ZooKeeper challenge names its realm and digest-uri, quotes the user name, and carries the RFC digest', (t) => {
  const challenge = 'realm="zk-sasl-md5",nonce="OA6MG9tEQGm2hh",charset=utf-8,algorithm=md5-sess';
  const credentials = { username: 'ap"p', password: 'secret' };
  const { response, exchange } = respondToChallenge(challenge, credentials, 'OA6MHXh6VqTrRk');
  t.deepEqual(exchange, {
    realm: 'zk-sasl-md5',
    nonce: 'OA6MG9tEQGm2hh',
    cnonce: 'OA6MHXh6VqTrRk',
    nonceCount: '00000001',
    qop: 'auth',
    digestUri: 'zookeeper/zk-sasl-md5',
    utf8: true,
  });
  t.is(
    response,
    `charset=utf-8,username="ap\\"p",realm="zk-sasl-md5",nonce="OA6MG9tEQGm2hh",nc=00000001,cnonce="OA6MHXh6VqTrRk",digest-uri="zookeeper/zk-sasl-md5",response=${digestResponse(credentials, exchange, 'client')},qop=auth`,
  );
  t.deepEqual(parseDirectives(response).get('username'), 'ap"p');
});

test('with charset=utf-8 a password beyond ISO 8859-1 is hashed as UTF-8, one within it as ISO 8859-1', (t) => {
  const latin = { ...rfc.credentials, password: 'sécret' };
  const asLatin1 = digestResponse(latin, rfc.exchange, 'client');
  t.is(digestResponse(latin, { ...rfc.exchange, utf8: false }, 'client'), asLatin1);
  const beyond = { ...rfc.credentials, password: 'séc€ret' };
  t.not(
    digestResponse(beyond, rfc.exchange, 'client'),
    digestResponse(beyond, { ...rfc.exchange, utf8: false }, 'client'),
  );
});

test('a sasl request is RequestHeader(xid, 102) then the token as a jute buffer; the answer’s token may be null', (t) => {
  const frame = encodeRequest(7, OP.sasl, (writer) => writeSaslToken(writer, Buffer.from('ab')));
  t.deepEqual([...frame], [0, 0, 0, 14, 0, 0, 0, 7, 0, 0, 0, 102, 0, 0, 0, 2, 0x61, 0x62]);
  const empty = encodeRequest(1, OP.sasl, (writer) => writeSaslToken(writer, Buffer.alloc(0)));
  t.deepEqual([...empty.subarray(12)], [0, 0, 0, 0], 'the first, empty token');
  t.deepEqual(
    decodeSaslToken(new JuteReader(new JuteWriter().buffer(Buffer.from('x')).frame().subarray(4))),
    Buffer.from('x'),
  );
  t.is(decodeSaslToken(new JuteReader(new JuteWriter().buffer(null).frame().subarray(4))), null);
});
