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
 * so one the live rule still has must go.
 */
import { parseQuantity } from '../api/defaults.js';
import { canonicalJson } from '../render/canonical-json.js';

/** Where a value sits: resource maps hold quantities, which compare by value. */
type Position = 'plain' | 'quantityMap' | 'quantity';

export function isSatisfiedBy(desired: unknown, live: unknown, position: Position = 'plain'): boolean {
  if (desired === undefined) return true;
  if (Array.isArray(desired)) {
    return (
      Array.isArray(live) && live.length === desired.length && desired.every((item, i) => isSatisfiedBy(item, live[i]))
    );
  }
  if (desired !== null && typeof desired === 'object') {
    if (live === null || typeof live !== 'object' || Array.isArray(live)) return false;
    const liveFields = live as Record<string, unknown>;
    return Object.entries(desired).every(([key, value]) =>
      EXACT_FIELDS.has(key)
        ? canonicalJson(value) === canonicalJson(liveFields[key])
        : isSatisfiedBy(
            value,
            liveFields[key],
            position === 'quantityMap' ? 'quantity' : QUANTITY_MAPS.has(key) ? 'quantityMap' : 'plain',
          ),
    );
  }
  return desired === live || (position === 'quantity' && sameQuantity(desired, live));
}

/** Fields whose absent parts mean something, so the live value must equal the desired one. */
const EXACT_FIELDS = new Set(['ingress']);

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
