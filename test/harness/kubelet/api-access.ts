// In-cluster API access for a pod that talks to Kubernetes (the operator's own pod), as a real
// kubelet and kube-proxy give it: a service-account token from the TokenRequest API, bound to the
// pod, with the cluster CA and the namespace, mounted at the standard path; and
// KUBERNETES_SERVICE_HOST/PORT reaching the API server.
//
// The API server listens on the host's loopback, which a pod's network namespace cannot reach,
// and no server may listen beyond loopback. So the path is a relay through a Unix socket, which
// network namespaces do not separate: a relay process inside the pod's namespace listens on its
// loopback (127.0.0.1:443) and forwards each connection to a socket in the pod's directory, where
// the kubelet forwards it to the API server. TLS passes through untouched: the client verifies
// the API server's certificate (which names 127.0.0.1) with the mounted CA.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { V1Pod } from '@kubernetes/client-node';
import { repoPath } from '../repo.js';
import { describeApiError, type KubeClients } from './kube.js';
import type { Logger } from './log.js';

/** Where client libraries look for the in-cluster token, CA and namespace. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const RELAY_PORT = 443;
const RELAY_SCRIPT = fileURLToPath(new URL('./api-relay.ts', import.meta.url));
const TOKEN_SECONDS = 3600;

/** The project's Node 24 with tsx as a loader: how the kubelet runs the repository's TypeScript. */
export function nodeWithTsx(): string[] {
  return [repoPath('node_modules/.bin/node'), `--import=${import.meta.resolve('tsx')}`];
}

export class PodApiAccess {
  private refresh: NodeJS.Timeout | undefined;

  private constructor(
    private readonly server: Server,
    private readonly relay: ChildProcess,
    readonly tokenDir: string,
  ) {}

  /**
   * Replaces the token at 80% of its lifetime, as the kubelet does for projected tokens; client
   * libraries read the file again (client-node every minute), so a long-lived pod stays signed in.
   */
  private keepTokenFresh(clients: KubeClients, pod: V1Pod, logger: Logger): void {
    this.refresh = setTimeout(() => {
      writeToken(clients, pod, this.tokenDir)
        .catch((error: unknown) => logger.error('token refresh failed', { error: String(error) }))
        .finally(() => this.keepTokenFresh(clients, pod, logger));
    }, TOKEN_SECONDS * 800);
    this.refresh.unref();
  }

  /** The environment a pod's containers get (as from the `kubernetes` Service). */
  get env(): Record<string, string> {
    return { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(RELAY_PORT) };
  }

  static async open(options: {
    clients: KubeClients;
    pod: V1Pod;
    netns: string;
    dir: string;
    logger: Logger;
  }): Promise<PodApiAccess> {
    const { clients, pod, netns, dir } = options;
    const tokenDir = join(dir, 'serviceaccount');
    await mkdir(tokenDir, { recursive: true });
    await writeServiceAccountFiles(clients, pod, tokenDir);
    const apiServer = new URL(clients.kubeConfig.getCurrentCluster()?.server ?? '');
    const socketPath = join(dir, 'api.sock');
    const server = createServer((downstream) => {
      const upstream = connect(Number(apiServer.port || 443), apiServer.hostname);
      downstream.pipe(upstream).pipe(downstream);
      downstream.on('error', () => upstream.destroy());
      upstream.on('error', () => downstream.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, resolve);
    });
    const relay = spawn(
      'ip',
      ['netns', 'exec', netns, ...nodeWithTsx(), RELAY_SCRIPT, String(RELAY_PORT), socketPath],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        let output = '';
        const collect = (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('listening')) resolve();
        };
        relay.stdout?.on('data', collect);
        relay.stderr?.on('data', collect);
        relay.once('exit', (code) => reject(new Error(`API relay in ${netns} exited with ${code}: ${output.trim()}`)));
      });
    } catch (error) {
      server.close();
      throw error;
    }
    options.logger.info('pod API access ready', {
      pod: `${pod.metadata?.namespace}/${pod.metadata?.name}`,
      serviceAccount: pod.spec?.serviceAccountName ?? 'default',
    });
    const access = new PodApiAccess(server, relay, tokenDir);
    access.keepTokenFresh(clients, pod, options.logger);
    return access;
  }

  close(): void {
    clearTimeout(this.refresh);
    this.relay.kill('SIGKILL');
    this.server.close();
  }
}

async function writeServiceAccountFiles(clients: KubeClients, pod: V1Pod, dir: string): Promise<void> {
  const cluster = clients.kubeConfig.getCurrentCluster();
  const ca = cluster?.caData
    ? Buffer.from(cluster.caData, 'base64').toString('utf8')
    : cluster?.caFile
      ? await readFile(cluster.caFile, 'utf8')
      : undefined;
  if (ca === undefined) throw new Error("the kubelet's kubeconfig names no cluster CA to give pods");
  await writeReadable(dir, 'ca.crt', ca);
  await writeReadable(dir, 'namespace', pod.metadata?.namespace ?? 'default');
  await writeToken(clients, pod, dir);
  await chmod(dir, 0o755);
}

/** Requests a token for the pod's ServiceAccount and replaces `token` in one rename. */
async function writeToken(clients: KubeClients, pod: V1Pod, dir: string): Promise<void> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const serviceAccount = pod.spec?.serviceAccountName ?? 'default';
  let token: string | undefined;
  try {
    const request = await clients.core.createNamespacedServiceAccountToken({
      name: serviceAccount,
      namespace,
      body: {
        spec: {
          audiences: [],
          expirationSeconds: TOKEN_SECONDS,
          // Bound to the pod when it names its ServiceAccount; the test API server runs without
          // the ServiceAccount admission plugin, which would otherwise fill in `default`.
          ...(pod.spec?.serviceAccountName
            ? {
                boundObjectRef: {
                  apiVersion: 'v1',
                  kind: 'Pod',
                  name: pod.metadata?.name ?? '',
                  uid: pod.metadata?.uid ?? '',
                },
              }
            : {}),
        },
      },
    });
    token = request.status?.token;
  } catch (error) {
    throw new Error(`requesting a token for ServiceAccount ${namespace}/${serviceAccount}: ${describeApiError(error)}`);
  }
  if (!token) throw new Error(`the TokenRequest for ServiceAccount ${namespace}/${serviceAccount} returned no token`);
  await writeReadable(dir, 'token.new', token);
  await rename(join(dir, 'token.new'), join(dir, 'token'));
}

/** Readable by the pod's non-root user, as the kubelet's projected volume makes it. */
async function writeReadable(dir: string, name: string, content: string): Promise<void> {
  await writeFile(join(dir, name), content);
  await chmod(join(dir, name), 0o644);
}
