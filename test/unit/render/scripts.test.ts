/**
 * The rendered start and probe scripts, run for real under bash in temporary directories
 * (the paths come from the environment, per docs/design/pod-contract.md). A stand-in
 * `zkServer.sh` on PATH records how ZooKeeper would have been started.
 */
import { execFile, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import type { ZooKeeperClusterSpec } from '../../../src/api/types.js';
import { renderCluster } from '../../../src/render/cluster.js';
import { pollUntil } from '../../harness/poll.js';
import { aCluster } from '../../support/builders.js';
import { memberConfigFiles } from '../../support/member-config.js';

interface PodDirs {
  root: string;
  config: string;
  conf: string;
  data: string;
  bin: string;
}

/** A pod's directories with the ConfigMap's files materialised, as a kubelet would. */
function podDirs(spec: ZooKeeperClusterSpec, bootstrap: boolean, meta = { name: 'zk', namespace: 'ns' }): PodDirs {
  const root = mkdtempSync(join(tmpdir(), 'zk-start-'));
  const dirs = {
    root,
    config: join(root, 'config'),
    conf: join(root, 'conf'),
    data: join(root, 'data'),
    bin: join(root, 'bin'),
  };
  for (const dir of [dirs.config, dirs.bin]) mkdirSync(dir, { recursive: true });
  const files = memberConfigFiles(renderCluster({ cluster: aCluster(spec, meta), bootstrap }));
  // Read-only, as a ConfigMap volume (defaultMode 0555) presents them.
  for (const [file, content] of Object.entries(files)) writeFileSync(join(dirs.config, file), content, { mode: 0o555 });
  // Records its arguments and environment instead of starting ZooKeeper.
  const fake = join(dirs.bin, 'zkServer.sh');
  writeFileSync(
    fake,
    '#!/usr/bin/env bash\necho "$@" > "$ZOOCFGDIR/started-with"\necho "$SERVER_JVMFLAGS" > "$ZOOCFGDIR/jvm-flags"\n',
  );
  chmodSync(fake, 0o755);
  return dirs;
}

/** The environment a member's container gives its scripts, with the pod's directories. */
const podEnv = (dirs: PodDirs, podName: string, extraEnv: Record<string, string> = {}) => ({
  PATH: `${dirs.bin}:${process.env.PATH}`,
  ZK_CONFIG_SOURCE: dirs.config,
  ZOOCFGDIR: dirs.conf,
  ZK_DATA_DIR: dirs.data,
  ZK_POD_NAME: podName,
  ...extraEnv,
});

function runScript(
  dirs: PodDirs,
  script: string,
  args: string[],
  podName: string,
  extraEnv: Record<string, string> = {},
) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      'bash',
      [join(dirs.config, script), ...args],
      { env: podEnv(dirs, podName, extraEnv) },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const start = (dirs: PodDirs, podName: string) => runScript(dirs, 'start.sh', [], podName);

test('start.sh takes myid from the pod ordinal and writes a writable config copy with the paths', async (t) => {
  const dirs = podDirs({ replicas: 3 }, true);
  t.teardown(() => rmSync(dirs.root, { recursive: true, force: true }));
  const result = await start(dirs, 'zk-2');
  t.is(result.code, 0, result.stderr);
  t.is(readFileSync(join(dirs.data, 'myid'), 'utf8').trim(), '3');
  const cfg = readFileSync(join(dirs.conf, 'zoo.cfg'), 'utf8');
  t.true(cfg.startsWith(readFileSync(join(dirs.config, 'zoo.cfg'), 'utf8')));
  t.true(cfg.endsWith(`dataDir=${dirs.data}\ndynamicConfigFile=${dirs.conf}/zoo.cfg.dynamic\n`));
  t.is(
    readFileSync(join(dirs.conf, 'zoo.cfg.dynamic'), 'utf8'),
    readFileSync(join(dirs.config, 'zoo.cfg.dynamic'), 'utf8'),
  );
  t.true(existsSync(join(dirs.conf, 'logback.xml')));
  t.is(readFileSync(join(dirs.conf, 'started-with'), 'utf8').trim(), `start-foreground ${dirs.conf}/zoo.cfg`);
});

test('start.sh adds the super user’s digest from the environment to the JVM flags', async (t) => {
  const dirs = podDirs({ replicas: 3 }, true);
  t.teardown(() => rmSync(dirs.root, { recursive: true, force: true }));
  const result = await runScript(dirs, 'start.sh', [], 'zk-0', {
    SERVER_JVMFLAGS: '-Dzookeeper.electionPortBindRetry=0',
    ZK_SUPER_DIGEST: 'super:lK75jTNcA+U9vtVEw5vB51mj/w4=',
  });
  t.is(result.code, 0, result.stderr);
  t.is(
    readFileSync(join(dirs.conf, 'jvm-flags'), 'utf8').trim(),
    '-Dzookeeper.electionPortBindRetry=0 -Dzookeeper.DigestAuthenticationProvider.superDigest=super:lK75jTNcA+U9vtVEw5vB51mj/w4=',
  );
});

test('start.sh refuses to start when the volume holds another member’s myid', async (t) => {
  const dirs = podDirs({ replicas: 3 }, false);
  t.teardown(() => rmSync(dirs.root, { recursive: true, force: true }));
  mkdirSync(dirs.data, { recursive: true });
  writeFileSync(join(dirs.data, 'myid'), '1\n');
  const result = await start(dirs, 'zk-1');
  t.not(result.code, 0);
  t.regex(result.stderr, /belongs to server 1, but pod zk-1 is server 2; refusing to start/);
  t.false(existsSync(join(dirs.conf, 'started-with')), 'ZooKeeper was not started');
});

test('start.sh accepts its own myid on restart and adds no initialize marker', async (t) => {
  const dirs = podDirs({ replicas: 3 }, true);
  t.teardown(() => rmSync(dirs.root, { recursive: true, force: true }));
  mkdirSync(dirs.data, { recursive: true });
  writeFileSync(join(dirs.data, 'myid'), '2\n');
  const result = await start(dirs, 'zk-1');
  t.is(result.code, 0, result.stderr);
  t.false(existsSync(join(dirs.data, 'initialize')));
});

test('start.sh lets an empty volume vote only while a brand-new ensemble bootstraps', async (t) => {
  for (const bootstrap of [true, false]) {
    const dirs = podDirs({ replicas: 3 }, bootstrap);
    t.teardown(() => rmSync(dirs.root, { recursive: true, force: true }));
    const result = await start(dirs, 'zk-0');
    t.is(result.code, 0, result.stderr);
    t.is(existsSync(join(dirs.data, 'initialize')), bootstrap, `bootstrap=${bootstrap}`);
  }
});

test('start.sh drops the initialize marker of an interrupted first start once the ensemble exists', async (t) => {
  for (const bootstrap of [true, false]) {
    const dirs = podDirs({ replicas: 3 }, bootstrap);
    t.teardown(() => rmSync(dirs.root, { recursive: true, force: true }));
    // What a first start leaves when ZooKeeper dies before it consumes the marker.
    mkdirSync(dirs.data, { recursive: true });
    writeFileSync(join(dirs.data, 'myid'), '1\n');
    writeFileSync(join(dirs.data, 'initialize'), '');
    const result = await start(dirs, 'zk-0');
    t.is(result.code, 0, result.stderr);
    t.is(existsSync(join(dirs.data, 'initialize')), bootstrap, `bootstrap=${bootstrap}: kept only while bootstrapping`);
  }
});

test('start.sh adds its own server line when it is joining and not yet a committed member', async (t) => {
  const dirs = podDirs({ replicas: 4 }, false);
  t.teardown(() => rmSync(dirs.root, { recursive: true, force: true }));
  chmodSync(join(dirs.config, 'zoo.cfg.dynamic'), 0o644);
  const committed = renderCluster({
    cluster: aCluster({ replicas: 4 }, { name: 'zk', namespace: 'ns' }),
    members: [1, 2, 3],
    bootstrap: false,
  });
  writeFileSync(join(dirs.config, 'zoo.cfg.dynamic'), committed.configMap.data?.['zoo.cfg.dynamic'] ?? '');
  const result = await start(dirs, 'zk-3');
  t.is(result.code, 0, result.stderr);
  const lines = readFileSync(join(dirs.conf, 'zoo.cfg.dynamic'), 'utf8').trim().split('\n');
  t.is(lines.length, 4);
  t.is(lines[3], 'server.4=zk-3.zk-headless.ns.svc.cluster.local:2888:3888:participant;0.0.0.0:2181');
});

test('an observer’s start.sh takes server id 101 + ordinal and adds itself as an observer while joining', async (t) => {
  const dirs = podDirs({ replicas: 3 }, false);
  t.teardown(() => rmSync(dirs.root, { recursive: true, force: true }));
  const desired = renderCluster({
    cluster: aCluster({ replicas: 3, observers: 2 }, { name: 'zk', namespace: 'ns' }),
    members: [1, 2, 3, 101],
    observerPodCount: 2,
    bootstrap: false,
  });
  for (const [file, content] of Object.entries(memberConfigFiles(desired, 'observer'))) {
    rmSync(join(dirs.config, file), { force: true });
    writeFileSync(join(dirs.config, file), content, { mode: 0o555 });
  }
  // The committed observer finds its own line; the joining one adds its own, as an observer.
  const committed = await start(dirs, 'zk-observer-0');
  t.is(committed.code, 0, committed.stderr);
  t.is(readFileSync(join(dirs.data, 'myid'), 'utf8').trim(), '101');
  t.is(readFileSync(join(dirs.conf, 'zoo.cfg.dynamic'), 'utf8').trim().split('\n').length, 4);
  rmSync(dirs.data, { recursive: true, force: true });
  const joining = await start(dirs, 'zk-observer-1');
  t.is(joining.code, 0, joining.stderr);
  t.is(readFileSync(join(dirs.data, 'myid'), 'utf8').trim(), '102');
  const lines = readFileSync(join(dirs.conf, 'zoo.cfg.dynamic'), 'utf8').trim().split('\n');
  t.deepEqual(lines.slice(3), [
    'server.101=zk-observer-0.zk-headless.ns.svc.cluster.local:2888:3888:observer;0.0.0.0:2181',
    'server.102=zk-observer-1.zk-headless.ns.svc.cluster.local:2888:3888:observer;0.0.0.0:2181',
  ]);
  // A voter's pod name is not an observer's.
  rmSync(dirs.data, { recursive: true, force: true });
  const wrong = await start(dirs, 'zk-1');
  t.not(wrong.code, 0);
  t.regex(wrong.stderr, /cannot read an observer ordinal/);
});

test('start.sh rejects a pod name without an ordinal', async (t) => {
  const dirs = podDirs({}, true);
  t.teardown(() => rmSync(dirs.root, { recursive: true, force: true }));
  const result = await start(dirs, 'zookeeper');
  t.not(result.code, 0);
  t.regex(result.stderr, /cannot read a member ordinal from pod name 'zookeeper'/);
});

test('every server.N line names the pod whose start script computes myid N', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 15 }),
      fc.stringMatching(/^[a-z]([a-z0-9-]{0,10}[a-z0-9])?$/),
      async (replicas, name) => {
        const dirs = podDirs({ replicas }, true, { name, namespace: 'ns' });
        try {
          const dynamic = readFileSync(join(dirs.config, 'zoo.cfg.dynamic'), 'utf8').trim().split('\n');
          for (const line of dynamic) {
            const [, id, pod] = /^server\.(\d+)=([^.]+)\./.exec(line) ?? [];
            rmSync(dirs.data, { recursive: true, force: true });
            const result = await start(dirs, pod ?? '');
            if (result.code !== 0 || readFileSync(join(dirs.data, 'myid'), 'utf8').trim() !== id) return false;
          }
          return dynamic.length === replicas;
        } finally {
          rmSync(dirs.root, { recursive: true, force: true });
        }
      },
    ),
    { numRuns: 15 },
  );
  t.pass('fc.assert throws when the property fails for a sampled cluster');
});

/** A stand-in ZooKeeper client port answering 4lw commands with canned replies, or as `answer` says. */
async function fourLetterServer(
  answer: Record<string, string> | ((word: string) => string),
): Promise<{ port: number; server: Server }> {
  const reply = typeof answer === 'function' ? answer : (word: string) => answer[word] ?? '';
  const server = createServer((socket) => {
    socket.once('data', (data) => socket.end(reply(data.toString())));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return { port: address.port, server };
}

const srvr = (mode: string) =>
  `Zookeeper version: 3.9.4\nLatency min/avg/max: 0/0.0/0\nReceived: 1\nSent: 0\nConnections: 1\nOutstanding: 0\nZxid: 0x100000000\nMode: ${mode}\nNode count: 5\n`;

const probeCases: { name: string; replies: Record<string, string>; mode: 'live' | 'ready'; ok: boolean }[] = [
  { name: 'live when ruok answers imok', replies: { ruok: 'imok' }, mode: 'live', ok: true },
  { name: 'not live when ruok answers nothing', replies: {}, mode: 'live', ok: false },
  { name: 'ready as leader', replies: { srvr: srvr('leader') }, mode: 'ready', ok: true },
  { name: 'ready as follower', replies: { srvr: srvr('follower') }, mode: 'ready', ok: true },
  { name: 'ready as observer', replies: { srvr: srvr('observer') }, mode: 'ready', ok: true },
  {
    name: 'not ready without quorum even though ruok says imok',
    replies: { ruok: 'imok', srvr: 'This ZooKeeper instance is not currently serving requests\n' },
    mode: 'ready',
    ok: false,
  },
  { name: 'not ready in read-only mode', replies: { srvr: srvr('read-only') }, mode: 'ready', ok: false },
];

for (const c of probeCases) {
  test(`probe.sh: ${c.name}`, async (t) => {
    const dirs = podDirs({}, true);
    const { port, server } = await fourLetterServer(c.replies);
    t.teardown(() => {
      server.close();
      rmSync(dirs.root, { recursive: true, force: true });
    });
    const result = await runScript(dirs, 'probe.sh', [c.mode], 'zk-0', { ZK_CLIENT_PORT: String(port) });
    t.is(result.code === 0, c.ok, result.stderr);
  });
}

test('probe.sh fails when nothing listens on the client port', async (t) => {
  const dirs = podDirs({}, true);
  const { port, server } = await fourLetterServer({});
  await new Promise((resolve) => server.close(resolve));
  t.teardown(() => rmSync(dirs.root, { recursive: true, force: true }));
  const result = await runScript(dirs, 'probe.sh', ['live'], 'zk-0', { ZK_CLIENT_PORT: String(port) });
  t.not(result.code, 0);
});

test('probe.sh of a TLS pod asks at the loopback client port once the client port is gone, and fails when neither answers', async (t) => {
  const dirs = podDirs({ tls: { client: true } }, true);
  const closed = await fourLetterServer({});
  await new Promise((resolve) => closed.server.close(resolve));
  const loopback = await fourLetterServer({ ruok: 'imok', srvr: srvr('follower') });
  t.teardown(() => {
    loopback.server.close();
    rmSync(dirs.root, { recursive: true, force: true });
  });
  const env = { ZK_CLIENT_PORT: String(closed.port), ZK_LOOPBACK_CLIENT_PORT: String(loopback.port) };
  for (const mode of ['live', 'ready']) {
    const result = await runScript(dirs, 'probe.sh', [mode], 'zk-0', env);
    t.is(result.code, 0, `probe.sh ${mode}: ${result.stderr}`);
  }
  const nowhere = await runScript(dirs, 'probe.sh', ['live'], 'zk-0', {
    ...env,
    ZK_LOOPBACK_CLIENT_PORT: String(closed.port),
  });
  t.not(nowhere.code, 0);
});

test('probe.sh asks only words the rendered 4lw whitelist allows, and passes on a member that enforces it', async (t) => {
  const dirs = podDirs({}, true);
  const zooCfg = readFileSync(join(dirs.config, 'zoo.cfg'), 'utf8');
  const whitelist = (/^4lw\.commands\.whitelist=(.*)$/m.exec(zooCfg)?.[1] ?? '').split(',');
  const asked: string[] = [];
  const replies: Record<string, string> = { ruok: 'imok', srvr: srvr('follower') };
  // As ZooKeeper answers: a word outside the whitelist is refused, not executed.
  const { port, server } = await fourLetterServer((word) => {
    asked.push(word);
    return whitelist.includes(word)
      ? (replies[word] ?? '')
      : `${word} is not executed because it is not in the whitelist.`;
  });
  t.teardown(() => {
    server.close();
    rmSync(dirs.root, { recursive: true, force: true });
  });
  const env = { ZK_CLIENT_PORT: String(port) };
  for (const mode of ['live', 'ready']) {
    const result = await runScript(dirs, 'probe.sh', [mode], 'zk-0', env);
    t.is(result.code, 0, `probe.sh ${mode}: ${result.stderr}`);
  }
  t.deepEqual([...new Set(asked)].sort(), ['ruok', 'srvr']);
  t.true(
    asked.every((word) => whitelist.includes(word)),
    `asked ${asked.join(', ')}; whitelist ${whitelist.join(',')}`,
  );
});

/**
 * Runs start.sh of a TLS member as a process group of its own, as a container would, and returns
 * once the stand-in ZooKeeper has "started"; the key store loop it leaves behind is killed at teardown.
 */
async function startTlsMember(t: ExecutionContext, dirs: PodDirs, tlsSource: string, podName: string) {
  const child = spawn('bash', [join(dirs.config, 'start.sh')], {
    detached: true,
    stdio: 'ignore',
    env: podEnv(dirs, podName, { ZK_TLS_SOURCE: tlsSource, ZK_TLS_CHECK_SECONDS: '0.2' }),
  });
  t.teardown(() => {
    try {
      process.kill(-(child.pid ?? 0), 'SIGKILL');
    } catch {
      // Gone already.
    }
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.is(code, 0, 'start.sh ran to the end');
}

test('start.sh of a TLS member installs its own key store and the CA bundle, names them in zoo.cfg, and replaces them by rename when the Secret changes', async (t) => {
  const dirs = podDirs({ replicas: 3, tls: { quorum: true, client: true } }, true);
  t.teardown(() => rmSync(dirs.root, { recursive: true, force: true }));
  const source = join(dirs.root, 'tls');
  mkdirSync(source);
  writeFileSync(join(source, 'zk-1.pem'), 'key store of zk-1, first\n');
  writeFileSync(join(source, 'zk-0.pem'), 'key store of zk-0\n');
  writeFileSync(join(source, 'ca.crt'), 'CA bundle\n');
  await startTlsMember(t, dirs, source, 'zk-1');
  const keyStore = join(dirs.conf, 'tls', 'keystore.pem');
  t.is(readFileSync(keyStore, 'utf8'), 'key store of zk-1, first\n', 'its own, not another member’s');
  t.is(readFileSync(join(dirs.conf, 'tls', 'truststore.pem'), 'utf8'), 'CA bundle\n');
  t.is(statSync(keyStore).mode & 0o777, 0o600, 'the private key is readable by the member alone');
  const cfg = readFileSync(join(dirs.conf, 'zoo.cfg'), 'utf8');
  for (const key of ['ssl.quorum.keyStore', 'ssl.keyStore']) t.true(cfg.includes(`${key}.location=${keyStore}\n`));
  t.regex(cfg, /^sslQuorum=true$/m);
  t.regex(cfg, /^portUnification=false$/m);
  t.regex(cfg, /^secureClientPort=2281$/m);
  t.regex(cfg, /^ssl\.clientAuth=need$/m);

  const inode = statSync(keyStore).ino;
  writeFileSync(join(source, 'zk-1.pem'), 'key store of zk-1, renewed\n');
  const renewed = await pollUntil(
    'the renewed key store installed',
    async () => (readFileSync(keyStore, 'utf8').includes('renewed') ? true : undefined),
    { timeoutMs: 10_000, intervalMs: 100 },
  );
  t.true(renewed);
  t.not(statSync(keyStore).ino, inode, 'a new file renamed into place, which ZooKeeper’s watcher sees');
});

test('start.sh of a TLS member waits for its key store before it starts ZooKeeper', async (t) => {
  const dirs = podDirs({ replicas: 3, tls: { client: true } }, true);
  t.teardown(() => rmSync(dirs.root, { recursive: true, force: true }));
  const source = join(dirs.root, 'tls');
  mkdirSync(source);
  writeFileSync(join(source, 'ca.crt'), 'CA bundle\n');
  const starting = startTlsMember(t, dirs, source, 'zk-0');
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  t.false(existsSync(join(dirs.conf, 'started-with')), 'ZooKeeper waits for the key store');
  writeFileSync(join(source, 'zk-0.pem'), 'key store of zk-0\n');
  await starting;
  t.true(existsSync(join(dirs.conf, 'started-with')));
});

test('start.sh of a member joining a TLS-only ensemble adds its line with the plaintext port on loopback', async (t) => {
  const dirs = podDirs({ replicas: 3, tls: { client: true } }, false);
  t.teardown(() => rmSync(dirs.root, { recursive: true, force: true }));
  const source = join(dirs.root, 'tls');
  mkdirSync(source);
  writeFileSync(join(source, 'ca.crt'), 'CA bundle\n');
  writeFileSync(join(source, 'zk-3.pem'), 'key store of zk-3\n');
  await startTlsMember(t, dirs, source, 'zk-3');
  t.regex(
    readFileSync(join(dirs.conf, 'zoo.cfg.dynamic'), 'utf8'),
    /^server\.4=zk-3\.zk-headless\.ns\.svc\.cluster\.local:2888:3888:participant;127\.0\.0\.1:2182$/m,
  );
});

/**
 * A Secret volume as the kubelet lays it out: the files in a timestamped directory, `..data`
 * linking to it, and one link per key through `..data`.
 */
function secretVolume(root: string, data: Record<string, string | Buffer>): string {
  const volume = join(root, 'digest-users');
  const stamped = join(volume, '..2026_01_01_00_00_00.000000001');
  mkdirSync(stamped, { recursive: true });
  for (const [key, value] of Object.entries(data)) writeFileSync(join(stamped, key), value);
  symlinkSync('..2026_01_01_00_00_00.000000001', join(volume, '..data'));
  for (const key of Object.keys(data)) symlinkSync(join('..data', key), join(volume, key));
  return volume;
}

const withDigestUsers: ZooKeeperClusterSpec = { replicas: 3, authentication: { digestUsers: { secretName: 'users' } } };

async function startWithUsers(t: ExecutionContext, data: Record<string, string | Buffer>) {
  const dirs = podDirs(withDigestUsers, true);
  t.teardown(() => rmSync(dirs.root, { recursive: true, force: true }));
  const result = await runScript(dirs, 'start.sh', [], 'zk-0', {
    ZK_DIGEST_USERS_SOURCE: secretVolume(dirs.root, data),
    SERVER_JVMFLAGS: '-Dzookeeper.electionPortBindRetry=0',
  });
  return { dirs, result, jaas: join(dirs.conf, 'jaas.conf') };
}

test('start.sh of a cluster with SASL users writes one JAAS user per Secret key, readable by its owner only, and names the file last in the JVM flags', async (t) => {
  const { dirs, result, jaas } = await startWithUsers(t, { app: 'app-password', 'batch.job-2': 'pw2' });
  t.is(result.code, 0, result.stderr);
  t.is(
    readFileSync(jaas, 'utf8'),
    'Server {\n' +
      '  org.apache.zookeeper.server.auth.DigestLoginModule required\n' +
      '  user_app="app-password"\n' +
      '  user_batch.job-2="pw2"\n' +
      '  ;\n' +
      '};\n',
  );
  t.is(statSync(jaas).mode & 0o777, 0o600);
  t.is(
    readFileSync(join(dirs.conf, 'jvm-flags'), 'utf8').trim(),
    `-Dzookeeper.electionPortBindRetry=0 -Djava.security.auth.login.config=${jaas}`,
  );
});

test('start.sh escapes quotes, backslashes and line breaks of a password for the JAAS quoted string', async (t) => {
  const { result, jaas } = await startWithUsers(t, { app: 'a"b\\c\nd\re$f\n' });
  t.is(result.code, 0, result.stderr);
  t.regex(readFileSync(jaas, 'utf8'), /^ {2}user_app="a\\"b\\\\c\\nd\\re\$f\\n"$/m);
});

const refusedSecrets: { name: string; data: Record<string, string | Buffer>; message: RegExp }[] = [
  {
    name: 'a user named super',
    data: { app: 'x', super: 'y' },
    message: /holds a user 'super': the super user is the operator's alone/,
  },
  { name: 'an empty password', data: { app: '' }, message: /password of SASL user 'app' is empty/ },
  {
    name: 'a password JAAS would expand',
    data: { app: `a\${user.home}` },
    message: /password of SASL user 'app' contains '\$\{', which JAAS would expand/,
  },
  {
    name: 'a password with a NUL byte',
    data: { app: Buffer.from([0x61, 0x00, 0x62]) },
    message: /password of SASL user 'app' contains a NUL byte/,
  },
];
for (const c of refusedSecrets) {
  test(`start.sh refuses to start with ${c.name} in the users' Secret, naming the user and never the password`, async (t) => {
    const { dirs, result } = await startWithUsers(t, c.data);
    t.not(result.code, 0);
    t.regex(result.stderr, c.message);
    t.false(result.stderr.includes('user.home'), 'no password in the message');
    t.false(existsSync(join(dirs.conf, 'started-with')), 'ZooKeeper was not started');
  });
}

test('start.sh of a cluster without SASL users writes no JAAS file', async (t) => {
  const dirs = podDirs({ replicas: 3 }, true);
  t.teardown(() => rmSync(dirs.root, { recursive: true, force: true }));
  const result = await start(dirs, 'zk-0');
  t.is(result.code, 0, result.stderr);
  t.false(existsSync(join(dirs.conf, 'jaas.conf')));
  t.false(readFileSync(join(dirs.conf, 'jvm-flags'), 'utf8').includes('java.security.auth.login.config'));
});
