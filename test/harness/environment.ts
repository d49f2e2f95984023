/**
 * The whole test environment: the control plane (CRDs from `crds/` installed before the
 * controllers start, kube-scheduler placing pods) plus the process kubelet (kubelet/index.ts),
 * which registers three nodes in three zones and runs the pods scheduled to them as real
 * processes. dev-cluster.ts starts it, and through dev-cluster the shared ava fixture.
 *
 * The kubelet gets a temp dir of its own (pods running as non-root must be able to traverse
 * it, unlike the control plane's private work dir), removed after it stops unless
 * KEEP_TEST_DIRS=1. Unlike the control plane's, it has no reaper: after a SIGKILL its pods run
 * on and still use it, so the next start sweeps both (leftovers.ts) before anything starts.
 */
import { type ControlPlane, startControlPlane } from './controlplane.js';
import { type Kubelet, startKubelet } from './kubelet/index.js';
import { sweepLeftoversBeforeStart } from './leftovers.js';
import { createTemporaryWorkDir } from './work-dir.js';

export interface TestEnvironment {
  readonly controlPlane: ControlPlane;
  readonly kubelet: Kubelet;
  /** Stops the kubelet, then the control plane. */
  stop(): Promise<void>;
}

/**
 * Starts the control plane and the kubelet; on failure stops what was started and throws.
 * `apiserverArgs` go to kube-apiserver as they are (the benchmarks turn its audit log on).
 */
export async function startTestEnvironment(
  log: (line: string) => void,
  apiserverArgs: readonly string[] = [],
): Promise<TestEnvironment> {
  await sweepLeftoversBeforeStart(log);
  const controlPlane = await startControlPlane({ log, apiserverArgs });
  let kubelet: Kubelet;
  try {
    kubelet = await startKubeletFor(controlPlane, log);
  } catch (error) {
    await controlPlane.stop();
    throw new Error(`the process kubelet did not start: ${(error as Error).message}`, { cause: error });
  }
  return {
    controlPlane,
    kubelet,
    stop: async () => {
      await kubelet.stop();
      await controlPlane.stop();
    },
  };
}

async function startKubeletFor(controlPlane: ControlPlane, log: (line: string) => void): Promise<Kubelet> {
  const started = Date.now();
  const ownWorkDir = await createTemporaryWorkDir('zkop-kubelet-', { removeWhenThreadDies: false });
  const workDir = ownWorkDir.path;
  const removeWorkDir = () => ownWorkDir.remove();
  let kubelet: Kubelet;
  try {
    kubelet = await startKubelet({ kubeConfig: controlPlane.kubeConfig, workDir });
  } catch (error) {
    await removeWorkDir();
    throw error;
  }
  log(
    `process kubelet running nodes ${kubelet.nodeNames.join(', ')} in ${workDir} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
  return {
    nodeNames: kubelet.nodeNames,
    stop: async () => {
      await kubelet.stop();
      await removeWorkDir();
    },
  };
}
