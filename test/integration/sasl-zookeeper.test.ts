/**
 * SASL DIGEST-MD5 users against real ZooKeeper (3.9.4 and 3.8.6, standalone): the JAAS file and
 * the JVM flag are the ones the rendered start script writes from a Secret volume (run under bash
 * with a stand-in zkServer.sh that records them), and zoo.cfg carries the rendered sasl provider
 * line. The operator's own client logs in as a user whose password has a quote, a backslash and a
 * trailing line break, and reads a znode only `sasl:<user>` may read; a wrong password is refused,
 * and on 3.9.4 an unknown user too (3.8.6 lets an unknown name in with the last known user's
 * password: see below); an unauthenticated session and another user are not let in.
 * ZooKeeper from the cache (`test/controlplane/install.sh`).
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { renderCluster } from '../../src/render/cluster.js';
import { askFourLetterWord } from '../../src/zookeeper/four-letter-word.js';
import { ZooKeeperSession } from '../../src/zookeeper/session.js';
import { CREATE_MODE, ERROR_CODE, PERMS } from '../../src/zookeeper/wire-protocol.js';
import { freePort } from '../harness/ports.js';
import { waitUntilReady } from '../harness/processes.js';
import { createTemporaryWorkDir } from '../harness/work-dir.js';
import { aCluster } from '../support/builders.js';
import { memberConfigFiles } from '../support/member-config.js';
import { startStandaloneZooKeeper } from '../support/standalone-zookeeper.js';

const USERS = { app: 'p"w\\d\n', reader: 'reader-password' };
const cluster = aCluster({ replicas: 1, authentication: { digestUsers: { secretName: 'zk-users' } } });

/**
 * Runs the rendered start script against a kubelet-style Secret volume of `USERS`, with a
 * zkServer.sh that only records the JVM flags; returns the JAAS file and the flags.
 */
async function renderedJaas(dir: string): Promise<{ jvmFlags: string; saslConfigLine: string }> {
  const files = memberConfigFiles(renderCluster({ cluster, bootstrap: true, digestUsersFingerprint: 'f' }));
  const [config, conf, bin, users] = ['config', 'conf', 'bin', 'users'].map((d) => join(dir, d)) as [
    string,
    string,
    string,
    string,
  ];
  for (const d of [config, conf, bin, join(users, '..2026')]) await mkdir(d, { recursive: true });
  for (const [file, content] of Object.entries(files)) await writeFile(join(config, file), content, { mode: 0o555 });
  await symlink('..2026', join(users, '..data'));
  for (const [user, password] of Object.entries(USERS)) {
    await writeFile(join(users, '..2026', user), password);
    await symlink(join('..data', user), join(users, user));
  }
  await writeFile(join(bin, 'zkServer.sh'), '#!/usr/bin/env bash\necho "$SERVER_JVMFLAGS" >"$ZOOCFGDIR/jvm-flags"\n');
  await chmod(join(bin, 'zkServer.sh'), 0o755);
  await promisify(execFile)('bash', [join(config, 'start.sh')], {
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      ZK_CONFIG_SOURCE: config,
      ZOOCFGDIR: conf,
      ZK_DATA_DIR: join(dir, 'rendered-data'),
      ZK_POD_NAME: 'example-0',
      ZK_DIGEST_USERS_SOURCE: users,
    },
  });
  const saslConfigLine = (files['zoo.cfg'] ?? '').split('\n').find((line) => line.startsWith('authProvider.sasl='));
  if (saslConfigLine === undefined) throw new Error('the rendered zoo.cfg has no authProvider.sasl line');
  return { jvmFlags: (await readFile(join(conf, 'jvm-flags'), 'utf8')).trim(), saslConfigLine };
}

for (const version of ['3.9.4', '3.8.6']) {
  test(`ZooKeeper ${version}: a SASL user of the rendered JAAS file logs in with its password and reads a znode only sasl:<user> may read; a wrong password${version === '3.9.4' ? ', an unknown user' : ''}, no login and another user are refused`, async (t) => {
    const work = await createTemporaryWorkDir('zkop-sasl-');
    t.teardown(() => work.remove());
    const { jvmFlags, saslConfigLine } = await renderedJaas(work.path);
    t.regex(jvmFlags, /-Djava\.security\.auth\.login\.config=\S+\/jaas\.conf$/);
    const port = await freePort();
    const zookeeper = await startStandaloneZooKeeper(
      t,
      version,
      work.path,
      [`clientPort=${port}`, 'clientPortAddress=127.0.0.1', '4lw.commands.whitelist=srvr', saslConfigLine],
      { SERVER_JVMFLAGS: jvmFlags },
    );
    await waitUntilReady(zookeeper, {
      description: `4lw srvr on 127.0.0.1:${port}`,
      probe: () => askFourLetterWord('127.0.0.1', port, 'srvr', 5_000).catch(() => undefined),
      timeoutMs: 60_000,
    });
    const open = async () => {
      const session = await ZooKeeperSession.open({ servers: [`127.0.0.1:${port}`], connectTimeoutMs: 10_000 });
      t.teardown(() => session.close());
      return session;
    };

    const app = await open();
    await app.authenticateSasl({ username: 'app', password: USERS.app });
    await app.createWithAcl(
      '/sasl-only',
      'for app alone',
      [{ perms: PERMS.all, scheme: 'sasl', id: 'app' }],
      CREATE_MODE.persistent,
    );
    t.is((await app.getData('/sasl-only')).data.toString('utf8'), 'for app alone');

    const anonymous = await open();
    await t.throwsAsync(anonymous.getData('/sasl-only'), { instanceOf: Error, message: /NoAuth/ });

    const reader = await open();
    await reader.authenticateSasl({ username: 'reader', password: USERS.reader });
    await t.throwsAsync(reader.getData('/sasl-only'), { message: /NoAuth/ }, 'another SASL user');

    const refused = async (username: string, password: string, why: string) => {
      const session = await open();
      const error = await t.throwsAsync(session.authenticateSasl({ username, password }), undefined, why);
      t.is((error as { code?: number } | undefined)?.code, ERROR_CODE.authFailed, why);
      await t.throwsAsync(session.getData('/sasl-only'), undefined, `${why}: the server ended the session`);
    };
    await refused('app', 'p"w\\d', 'a wrong password (the right one without its trailing line break)');
    if (version === '3.9.4') {
      await refused('nobody', USERS.app, 'an unknown user');
    } else {
      // ZooKeeper 3.8.6's SaslServerCallbackHandler, shared by every connection, ignores an unknown
      // name and checks the password of the last known name it handled (here app's): an unknown
      // user logs in with that user's password. The identity it gets is no listed user's.
      const nobody = await open();
      await nobody.authenticateSasl({ username: 'nobody', password: USERS.app });
      await t.throwsAsync(nobody.getData('/sasl-only'), { message: /NoAuth/ }, 'sasl:nobody is not sasl:app');
    }
    t.false(zookeeper.hasExited);
  });
}
