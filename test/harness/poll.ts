/**
 * Polling with a deadline: the harness never sleeps blindly, it asks until the answer is
 * there, a watched process has died, or the deadline passes. Errors say what was awaited,
 * for how long, and what the last attempt saw.
 */
import { setTimeout as delay } from 'node:timers/promises';

export interface PollOptions {
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  /** Checked before every attempt; a returned error ends the wait at once (e.g. a process died). */
  readonly abortIf?: () => Promise<Error | undefined>;
}

/**
 * Calls `probe` until it returns a value other than `undefined`. A probe that throws counts as
 * "not yet"; its message is reported if the deadline passes.
 */
export async function pollUntil<T>(
  description: string,
  probe: () => Promise<T | undefined>,
  options: PollOptions,
): Promise<T> {
  const started = Date.now();
  const intervalMs = options.intervalMs ?? 250;
  let lastObservation = 'no attempt finished';
  while (true) {
    const abort = await options.abortIf?.();
    if (abort !== undefined) throw abort;
    try {
      const value = await probe();
      if (value !== undefined) return value;
      lastObservation = 'not yet';
    } catch (error) {
      lastObservation = (error as Error).message;
    }
    if (Date.now() - started >= options.timeoutMs) {
      throw new Error(
        `timed out after ${(options.timeoutMs / 1000).toFixed(0)} s waiting for ${description}; last attempt: ${lastObservation}`,
      );
    }
    await delay(intervalMs);
  }
}
