/**
 * The API clients of one KubeConfig share one connection pool: against a local HTTPS server,
 * sequential requests from several clients reuse one TLS connection (client-node alone opens
 * one per request). A real server and socket, no nock: the pooling is the behaviour under test.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import test from 'ava';
import { makeObservedApiClient } from '../../../src/runtime/api-client.js';
import { createCertificateAuthority, issueServingCertificate } from '../../harness/certs.js';
import { createTemporaryWorkDir } from '../../harness/work-dir.js';
import { fakeKubeConfig } from '../../support/fake-kubeconfig.js';

async function startServer(): Promise<{ server: Server; url: string; tlsConnections: () => number }> {
  const dir = await createTemporaryWorkDir('zkop-api-pool-');
  const ca = await createCertificateAuthority(dir.path, 'ca');
  const serving = await issueServingCertificate(ca, dir.path, 'server', 'server', {
    ipAddresses: ['127.0.0.1'],
    dnsNames: [],
  });
  const [cert, key] = await Promise.all([readFile(serving.certPath), readFile(serving.keyPath)]);
  await dir.remove();
  let connections = 0;
  const server = createServer({ cert, key }, (request, response) => {
    const kind = request.url?.startsWith('/apis/apps/') ? 'StatefulSet' : 'ConfigMap';
    response.setHeader('Content-Type', 'application/json');
    response.end(JSON.stringify({ apiVersion: 'v1', kind, metadata: { name: 'main', namespace: 'zk' } }));
  });
  server.on('secureConnection', () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `https://127.0.0.1:${port}`, tlsConnections: () => connections };
}

test('sequential requests of every API client made from one kubeconfig share one TLS connection', async (t) => {
  const { server, url, tlsConnections } = await startServer();
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const kubeConfig = fakeKubeConfig(url);
  const core = makeObservedApiClient(kubeConfig, CoreV1Api, {});
  const apps = makeObservedApiClient(kubeConfig, AppsV1Api, {});
  const requests = [
    () => core.readNamespacedConfigMap({ namespace: 'zk', name: 'main' }),
    () => apps.readNamespacedStatefulSet({ namespace: 'zk', name: 'main' }),
    () => core.readNamespacedConfigMap({ namespace: 'zk', name: 'main' }),
    () => apps.readNamespacedStatefulSet({ namespace: 'zk', name: 'main' }),
  ];
  for (const request of requests) {
    await request();
    // undici frees a connection a tick after the body is read; a request sent in that same tick opens another.
    await delay(10);
  }
  t.is(tlsConnections(), 1);
});
