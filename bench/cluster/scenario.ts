/**
 * The frame every control-plane benchmark runs in: a namespace of its own, the production
 * operator watching it, and clean-up that waits until the namespace's pods are gone, so that
 * one benchmark's teardown does not load the machine during the next one's measurement.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { controlPlane } from '../../test/harness/fixture.js';
import { pollUntil } from '../../test/harness/poll.js';
import { type OperatorProcess, startProductionOperator } from './operator-process.js';

export interface Scenario {
  namespace: string;
  operator: OperatorProcess;
}

/** Runs `body` in a fresh namespace with the operator watching it; removes both afterwards. */
export async function inScenario<T>(
  label: string,
  resultsDir: string,
  body: (scenario: Scenario) => Promise<T>,
): Promise<T> {
  const core = (await controlPlane()).kubeConfig.makeApiClient(CoreV1Api);
  const namespace = `bench-${label}-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const operator = await startProductionOperator(namespace, join(resultsDir, `operator-${label}.log`));
  try {
    return await body({ namespace, operator });
  } finally {
    // The operator stops first, so it does not re-create what the namespace controller removes.
    await operator.stop();
    await core.deleteNamespace({ name: namespace });
    await pollUntil(
      `namespace ${namespace} to be gone`,
      async () =>
        (await core.readNamespace({ name: namespace }).catch((error: { code?: number }) => {
          if (error.code === 404) return undefined;
          throw error;
        })) === undefined
          ? true
          : undefined,
      { timeoutMs: 300_000, intervalMs: 1_000 },
    );
  }
}

/** Fails the benchmark loudly: a figure from a run that did not do its job is no figure. */
export function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`benchmark check failed: ${what}`);
}
