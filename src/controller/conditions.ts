/**
 * metav1.Condition bookkeeping: a condition's lastTransitionTime moves only when its status
 * changes, so `kubectl describe` says when something really happened.
 */
import type { Condition } from '../api/types.js';

export type ConditionInput = Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;

/**
 * The next conditions: one per type in `next`, in a stable order (by type), keeping the
 * previous lastTransitionTime of every condition whose status did not change.
 */
export function mergeConditions(
  previous: readonly Condition[] | undefined,
  next: readonly ConditionInput[],
  generation: number | undefined,
  now: Date,
): Condition[] {
  return [...next]
    .sort((a, b) => a.type.localeCompare(b.type))
    .map((condition) => {
      const before = previous?.find((c) => c.type === condition.type);
      return {
        type: condition.type,
        status: condition.status,
        ...(generation === undefined ? {} : { observedGeneration: generation }),
        lastTransitionTime:
          before !== undefined && before.status === condition.status ? before.lastTransitionTime : now.toISOString(),
        reason: condition.reason,
        message: condition.message,
      };
    });
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}
