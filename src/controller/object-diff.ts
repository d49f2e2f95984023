/**
 * Whether an object in the cluster already holds everything the operator wants in it.
 * Server-side apply would be a no-op then, so the reconciler skips the write: a reconcile of
 * an unchanged cluster makes no write calls at all.
 *
 * "Holds" means: every field the desired object sets has the same value in the live object;
 * fields only the live object has (defaults, other managers' fields, status) are ignored.
 * Lists compare element by element and must have the same length, because a server-side
 * apply of a list the operator owns replaces it. A NetworkPolicy's ingress rules compare
 * exactly: a field left out means something there (a rule without `from` admits every source),
 * so one the live rule still has must go. So does a ConfigMap's `data`: a key left out is one to drop.
 *
 * `firstDifference` names the first field that differs (`spec.template.spec.containers[0].image`),
 * so the line that reports an update says what it changed.
 */
import { parseQuantity } from '../api/defaults.js';
import { canonicalJson } from '../render/canonical-json.js';

/** Where a value sits: resource maps hold quantities, which compare by value. */
type Position = 'plain' | 'quantityMap' | 'quantity';

export function isSatisfiedBy(desired: unknown, live: unknown): boolean {
  return firstDifference(desired, live) === undefined;
}

/** The path of the first field of `desired` that `live` does not hold, or undefined when it holds them all. */
export function firstDifference(desired: unknown, live: unknown): string | undefined {
  return differenceAt(desired, live, 'plain', '');
}

function differenceAt(desired: unknown, live: unknown, position: Position, path: string): string | undefined {
  if (desired === undefined) return undefined;
  if (Array.isArray(desired)) {
    if (!Array.isArray(live) || live.length !== desired.length) return path;
    for (const [i, item] of desired.entries()) {
      const difference = differenceAt(item, live[i], 'plain', `${path}[${i}]`);
      if (difference !== undefined) return difference;
    }
    return undefined;
  }
  if (desired !== null && typeof desired === 'object') {
    if (live === null || typeof live !== 'object' || Array.isArray(live)) return path;
    const liveFields = live as Record<string, unknown>;
    for (const [key, value] of Object.entries(desired)) {
      const at = path === '' ? key : `${path}.${key}`;
      if (EXACT_FIELDS.has(key)) {
        const difference = exactDifference(value, liveFields[key], at);
        if (difference !== undefined) return difference;
        continue;
      }
      const inner = position === 'quantityMap' ? 'quantity' : QUANTITY_MAPS.has(key) ? 'quantityMap' : 'plain';
      const difference = differenceAt(value, liveFields[key], inner, at);
      if (difference !== undefined) return difference;
    }
    return undefined;
  }
  return desired === live || (position === 'quantity' && sameQuantity(desired, live)) ? undefined : path;
}

/**
 * Fields whose absent parts mean something, so the live value must equal the desired one. A
 * ConfigMap's `data` drops the files of revisions no member runs any more (`config-map.ts`).
 */
const EXACT_FIELDS = new Set(['data', 'ingress']);

const isMap = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** Where `live` is not exactly `desired`: the first key of a map either side has and the other lacks or holds otherwise. */
function exactDifference(desired: unknown, live: unknown, path: string): string | undefined {
  if (canonicalJson(desired) === canonicalJson(live)) return undefined;
  if (!isMap(desired) || !isMap(live)) return path;
  const keys = [...new Set([...Object.keys(desired), ...Object.keys(live)])].sort();
  const key = keys.find((k) => canonicalJson(desired[k]) !== canonicalJson(live[k]));
  return `${path}.${key}`;
}

/** Maps whose values are resource quantities (container resources, claim requests). */
const QUANTITY_MAPS = new Set(['limits', 'requests']);

/** The API server canonicalises quantities (`1000m` → `1`, `1024Mi` → `1Gi`); compare their values. */
function sameQuantity(desired: unknown, live: unknown): boolean {
  if (typeof desired !== 'string' && typeof desired !== 'number') return false;
  if (typeof live !== 'string' && typeof live !== 'number') return false;
  try {
    return parseQuantity(String(desired)) === parseQuantity(String(live));
  } catch {
    // Not quantities: plain values that differ.
    return false;
  }
}
