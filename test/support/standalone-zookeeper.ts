/**
 * One real ZooKeeper server from the cached dists (`test/controlplane/install.sh`), standalone,
 * running a zoo.cfg of the test's own lines in the test's work directory, stopped at teardown;
 * and the certificate authority such tests issue from.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { createCertificateAuthority, type KeyedCertificate } from '../../src/tls/x509.js';
import { binaryCacheDir } from '../harness/binaries.js';
import { type HarnessProcess, startProcess } from '../harness/processes.js';

/**
 * Starts ZooKeeper `version` on a zoo.cfg in `workDir`: its data in `<workDir>/data`, no AdminServer,
 * and the test's own `config` lines.
 */
export async function startStandaloneZooKeeper(
  t: ExecutionContext,
  version: string,
  workDir: string,
  config: readonly string[],
  env: Record<string, string> = {},
): Promise<HarnessProcess> {
  const file = join(workDir, 'zoo.cfg');
  const dataDir = join(workDir, 'data');
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, ['tickTime=2000', `dataDir=${dataDir}`, 'admin.enableServer=false', ...config, ''].join('\n'));
  const zookeeper = await startProcess({
    name: `zookeeper-${version}`,
    command: join(binaryCacheDir(), `zookeeper-${version}`, 'bin', 'zkServer.sh'),
    args: ['start-foreground', file],
    logPath: join(workDir, 'zookeeper.log'),
    env: { ...process.env, ZOO_LOG_DIR: workDir, ...env },
  });
  t.teardown(() => zookeeper.stop());
  return zookeeper;
}

/** A CA named `commonName`, valid from a minute ago (clock skew) for `hours`. */
export function testAuthority(commonName: string, hours = 1): Promise<KeyedCertificate> {
  const now = Date.now();
  return createCertificateAuthority({
    commonName,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + hours * 3_600_000),
  });
}

/**
 * The zoo.cfg lines of a TLS client port on loopback, as members serve it: Netty, PEM stores,
 * client certificates required.
 */
export function secureClientConfig(port: number, keyStore: string, trustStore: string): string[] {
  return [
    `secureClientPort=${port}`,
    'secureClientPortAddress=127.0.0.1',
    'serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory',
    `ssl.keyStore.location=${keyStore}`,
    'ssl.keyStore.type=PEM',
    `ssl.trustStore.location=${trustStore}`,
    'ssl.trustStore.type=PEM',
    'ssl.clientAuth=need',
  ];
}
