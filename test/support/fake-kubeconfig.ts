/** A KubeConfig pointing at `server` with a static token: for nock-backed unit tests. */
import { KubeConfig } from '@kubernetes/client-node';

export function fakeKubeConfig(server: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'test', server, skipTLSVerify: true }],
    users: [{ name: 'operator', token: 'test-token' }],
    contexts: [{ name: 'test', cluster: 'test', user: 'operator' }],
    currentContext: 'test',
  });
  return kubeConfig;
}
