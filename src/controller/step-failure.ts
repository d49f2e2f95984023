/**
 * Each action maps its own failures to a reason of its own, so a refused reconfig is reported as
 * `ReconfigFailed` with the step it belonged to, not hidden behind "applying the objects failed".
 * The original error stays the `cause`: whether the namespace is being deleted or a permission
 * is missing is read from it.
 */
import { classifyKubeError } from '../runtime/kube-errors.js';

export class StepFailed extends Error {
  override readonly name = 'StepFailed';
  constructor(
    /** CamelCase, for the Degraded condition and the Event. */
    readonly reason: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Runs one action; a failure becomes a StepFailed with `reason` and "`what` failed: <detail>".
 * An action that reports its own StepFailed keeps it.
 */
export async function failsAs<T>(reason: string, what: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof StepFailed) throw error;
    throw new StepFailed(reason, `${what} failed: ${classifyKubeError(error).message}`, { cause: error });
  }
}

/** The error an action failed with, unwrapped: what the API server or ZooKeeper said (a refusal of the operator's own has none). */
export const rootCause = (error: unknown): unknown =>
  error instanceof StepFailed && error.cause !== undefined ? error.cause : error;
