/**
 * The whole test environment: the control plane (CRDs from `crds/` installed before the
 * controllers start) plus the process kubelet, which binds pods to its node and runs them as
 * real processes. dev-cluster.ts starts it, and through dev-cluster the shared ava fixture.
 *
 * The kubelet is loaded from `test/harness/kubelet/index.ts` (its `startKubelet`), written
 * alongside this file; without it the environment runs without a kubelet and pods stay
 * Pending. `startKubeletIfPresent` is the single call site. The kubelet gets a temp dir of its
 * own (pods running as non-root must be able to traverse it, unlike the control plane's
 * private work dir), removed after it stops unless KEEP_TEST_DIRS=1.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubeConfig } from '@kubernetes/client-node';
import { type ControlPlane, startControlPlane } from './controlplane.js';

/** The contract of `test/harness/kubelet/index.ts`. */
interface KubeletModule {
  startKubelet(options: { kubeConfig: KubeConfig; workDir: string; nodeName?: string }): Promise<RunningKubelet>;
}

export interface RunningKubelet {
  stop(): Promise<void>;
}

export interface TestEnvironment {
  readonly controlPlane: ControlPlane;
  /** `null` while the kubelet module does not exist yet. */
  readonly kubelet: RunningKubelet | null;
  /** Stops the kubelet, then the control plane. */
  stop(): Promise<void>;
}

const KUBELET_MODULE = new URL('./kubelet/index.ts', import.meta.url);

/** Starts the control plane and the kubelet; on failure stops what was started and throws. */
export async function startTestEnvironment(log: (line: string) => void): Promise<TestEnvironment> {
  const controlPlane = await startControlPlane({ log });
  let kubelet: RunningKubelet | null;
  try {
    kubelet = await startKubeletIfPresent(controlPlane, log);
  } catch (error) {
    await controlPlane.stop();
    throw new Error(`the process kubelet did not start: ${(error as Error).message}`, { cause: error });
  }
  return {
    controlPlane,
    kubelet,
    stop: async () => {
      await kubelet?.stop();
      await controlPlane.stop();
    },
  };
}

async function startKubeletIfPresent(
  controlPlane: ControlPlane,
  log: (line: string) => void,
): Promise<RunningKubelet | null> {
  if (!existsSync(fileURLToPath(KUBELET_MODULE))) {
    log('no process kubelet yet (test/harness/kubelet/index.ts is missing): pods will stay Pending');
    return null;
  }
  const { startKubelet } = (await import(KUBELET_MODULE.href)) as KubeletModule;
  const started = Date.now();
  const workDir = await mkdtemp(join(tmpdir(), 'zkop-kubelet-'));
  const removeWorkDir = () =>
    process.env.KEEP_TEST_DIRS === '1' ? Promise.resolve() : rm(workDir, { recursive: true, force: true });
  let kubelet: RunningKubelet;
  try {
    kubelet = await startKubelet({ kubeConfig: controlPlane.kubeConfig, workDir });
  } catch (error) {
    await removeWorkDir();
    throw error;
  }
  log(`process kubelet running in ${workDir} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return {
    stop: async () => {
      await kubelet.stop();
      await removeWorkDir();
    },
  };
}
