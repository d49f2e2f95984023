/**
 * kube-controller-manager for the test control plane: without it namespaces never finish
 * terminating, StatefulSets and Deployments make no pods and nothing is garbage-collected.
 *
 * It serves nothing (`--secure-port=0`), so readiness is observed through the API: the
 * ServiceAccount controller creates `default/default` once the controllers run.
 * Disabled controllers, and why:
 * - endpoints, endpointslice, endpointslice-mirroring: pod IPs in tests are not valid endpoint
 *   addresses, and nothing may dial a Service anyway;
 * - node-lifecycle: nodes belong to the process kubelet; this controller would taint them and
 *   evict their pods whenever a heartbeat is late on a busy machine (taints a test sets itself
 *   stay: kube-scheduler honours them).
 */
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { ControlPlanePki } from './kube-apiserver.js';
import { type HarnessProcess, startProcess, waitUntilReady } from './processes.js';

const DISABLED_CONTROLLERS = [
  'endpoints-controller',
  'endpointslice-controller',
  'endpointslice-mirroring-controller',
  'node-lifecycle-controller',
] as const;

const READY_TIMEOUT_MS = 60_000;

/** Starts kube-controller-manager as admin; its log goes to `<workDir>/kube-controller-manager.log`. */
export async function startKubeControllerManager(
  binary: string,
  workDir: string,
  adminKubeconfigPath: string,
  adminKubeConfig: KubeConfig,
  pki: ControlPlanePki,
): Promise<HarnessProcess> {
  const controllerManager = await startProcess({
    name: 'kube-controller-manager',
    command: binary,
    args: [
      `--kubeconfig=${adminKubeconfigPath}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      `--service-account-private-key-file=${pki.serviceAccount.privateKeyPath}`,
      `--root-ca-file=${pki.ca.certPath}`,
      `--controllers=*,${DISABLED_CONTROLLERS.map((name) => `-${name}`).join(',')}`,
      '--v=1',
    ],
    logPath: join(workDir, 'kube-controller-manager.log'),
  });
  const core = adminKubeConfig.makeApiClient(CoreV1Api);
  await waitUntilReady(controllerManager, {
    description: 'the ServiceAccount controller creates default/default',
    probe: async () => (await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' })).metadata,
    timeoutMs: READY_TIMEOUT_MS,
    intervalMs: 250,
  });
  return controllerManager;
}
