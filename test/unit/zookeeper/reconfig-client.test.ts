import test from 'ava';
import {
  classifyReconfigError,
  isConnectionLoss,
  parseCommittedConfig,
  parseServerLine,
  type ReconfigErrorCode,
  returnCodeOf,
} from '../../../src/zookeeper/reconfig-client.js';
import { ZooKeeperError } from '../../../src/zookeeper/session.js';

const CONFIG = [
  'server.1=zk-0.zk-headless.ns.svc.cluster.local:2888:3888:participant;0.0.0.0:2181',
  'server.3=127.0.0.1:12883:13883:observer;127.0.0.1:12183',
  'server.2=127.0.0.1:12882:13882;12182',
  'version=10000000a',
  '',
].join('\n');

test('parses /zookeeper/config into members by id, the voters and the version', (t) => {
  const config = parseCommittedConfig(CONFIG);
  t.deepEqual(
    config.members.map((m) => [m.myid, m.host, m.quorumPort, m.electionPort, m.role, m.clientAddress]),
    [
      [1, 'zk-0.zk-headless.ns.svc.cluster.local', 2888, 3888, 'participant', '0.0.0.0:2181'],
      [2, '127.0.0.1', 12882, 13882, 'participant', '12182'],
      [3, '127.0.0.1', 12883, 13883, 'observer', '127.0.0.1:12183'],
    ],
  );
  t.deepEqual(config.voters, [1, 2]);
  t.is(config.version, '10000000a');
});

test('a server line keeps its text for the reconfig', (t) => {
  const line = 'server.4=127.0.0.1:1:2:participant;127.0.0.1:3';
  t.is(parseServerLine(`  ${line}\n`).line, line);
});

test('a config without a version or without servers is an error, not an empty membership', (t) => {
  t.throws(() => parseCommittedConfig('server.1=a:1:2;3\n'), { message: /no version/ });
  t.throws(() => parseCommittedConfig('version=100000000\n'), { message: /no server/ });
  t.throws(() => parseServerLine('server.x=a:1:2'), { message: /not a server line/ });
});

const zookeeperError = (rc: number) => new ZooKeeperError(rc, 'reconfig -3');

test('the return code is read from ZooKeeper errors only', (t) => {
  t.is(returnCodeOf(zookeeperError(-103)), -103);
  t.is(returnCodeOf(new Error('-103 looks like a code but is not one')), undefined);
});

test('connection loss, timeouts and expiry leave the outcome unknown; refusals do not', (t) => {
  for (const rc of [-4, -7, -112]) t.true(isConnectionLoss(zookeeperError(rc)), String(rc));
  for (const rc of [-103, -13, -102, -8]) t.false(isConnectionLoss(zookeeperError(rc)), String(rc));
  t.false(isConnectionLoss(new Error('no session')));
});

const classifications: { rc: number; authenticated: boolean; code: ReconfigErrorCode; message: RegExp }[] = [
  { rc: -103, authenticated: true, code: 'BadVersion', message: /no longer version 100000000/ },
  { rc: -13, authenticated: true, code: 'NewConfigNoQuorum', message: /no quorum of the new config/ },
  { rc: -102, authenticated: false, code: 'NotAuthenticated', message: /needs the super user.*superDigest/ },
  { rc: -102, authenticated: true, code: 'NotAuthenticated', message: /did not match.*superDigest/ },
  { rc: -14, authenticated: true, code: 'ReconfigInProgress', message: /another reconfig/ },
  { rc: -123, authenticated: true, code: 'ReconfigDisabled', message: /reconfigEnabled/ },
  { rc: -8, authenticated: true, code: 'BadArguments', message: /invalid/ },
  { rc: -1, authenticated: true, code: 'Failed', message: /failed: reconfig -3: SystemError \(-1\)/ },
];

for (const c of classifications) {
  test(`a refused reconfig with rc ${c.rc}${c.authenticated ? '' : ' (no password)'} is ${c.code}`, (t) => {
    const result = classifyReconfigError(
      zookeeperError(c.rc),
      'removing server 3 from config 100000000',
      '100000000',
      c.authenticated,
    );
    t.is(result.code, c.code);
    t.regex(result.message, /^removing server 3 from config 100000000/);
    t.regex(result.message, c.message);
  });
}
