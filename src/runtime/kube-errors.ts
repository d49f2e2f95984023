/**
 * Classifies errors from @kubernetes/client-node so callers decide by kind, not
 * by poking at status codes and message strings.
 *
 * Inputs understood:
 * - `ApiException` from API calls: `.code` is the HTTP status and `.body` the raw
 *   response text (a JSON `Status` object when the apiserver produced it);
 * - errors from `Watch`: `.statusCode` is the HTTP status;
 * - `ERROR` watch events: plain `Status` objects with `.code`;
 * - network failures: undici's `TypeError('fetch failed')` whose `.cause` has a
 *   `code` such as ECONNREFUSED, or Node socket errors carrying that code directly.
 *
 * Contract: `classifyKubeError` never throws. Kinds:
 * `conflict` (409 other than AlreadyExists: a stale resourceVersion, retry after
 * re-reading), `alreadyExists`, `gone` (410: relist), `notFound`, `forbidden`
 * (403: RBAC is missing; retrying will not help until someone fixes it),
 * `unauthorized`, `invalid` (400/422: the request is wrong), `transient` (429,
 * 5xx, network trouble: retry with back-off), `namespaceTerminating` (403 from the
 * NamespaceLifecycle admission plugin: nothing can be created in a namespace being
 * deleted, and it never stops being deleted; not a missing permission), and `other`.
 */

export type KubeErrorKind =
  | 'conflict'
  | 'alreadyExists'
  | 'gone'
  | 'notFound'
  | 'forbidden'
  | 'namespaceTerminating'
  | 'unauthorized'
  | 'invalid'
  | 'transient'
  | 'other';

/** What RBAC denied, parsed from the apiserver's 403 message. */
export interface DeniedPermission {
  readonly user: string;
  readonly verb: string;
  readonly resource: string;
  /** API group; '' for the core group. */
  readonly group: string;
  /** Undefined for cluster-scoped requests. */
  readonly namespace: string | undefined;
}

export interface KubeError {
  readonly kind: KubeErrorKind;
  /** HTTP status, when a response arrived. */
  readonly status: number | undefined;
  /** The `Status.reason` from the body, e.g. `Conflict`, `Forbidden`. */
  readonly reason: string | undefined;
  /** One line for logs, Events and status conditions. */
  readonly message: string;
  /** Set for `forbidden` when the apiserver's message named the permission. */
  readonly permission: DeniedPermission | undefined;
}

/** The parts of a Kubernetes `Status` object we read. */
interface StatusBody {
  readonly code?: unknown;
  readonly reason?: unknown;
  readonly message?: unknown;
  /** `causes[].reason` is a `StatusCause`'s type (its JSON name is `reason`). */
  readonly details?: { readonly causes?: readonly { readonly reason?: unknown }[] };
}

/** The `StatusCause` type the NamespaceLifecycle admission plugin puts on a create refused in a namespace being deleted. */
const NAMESPACE_TERMINATING_CAUSE = 'NamespaceTerminating';

const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

export function classifyKubeError(err: unknown): KubeError {
  const status = statusCodeOf(err);
  const body = statusBodyOf(err);
  const reason = typeof body?.reason === 'string' ? body.reason : undefined;
  const bodyMessage = typeof body?.message === 'string' ? body.message : undefined;
  const baseMessage = bodyMessage ?? messageOf(err);
  const make = (kind: KubeErrorKind, message = baseMessage, permission?: DeniedPermission): KubeError => ({
    kind,
    status,
    reason,
    message,
    permission,
  });

  if (status === undefined) {
    return isTransientNetworkError(err) ? make('transient', networkMessage(err)) : make('other');
  }
  if (status === 409) return make(reason === 'AlreadyExists' ? 'alreadyExists' : 'conflict');
  if (status === 410) return make('gone');
  if (status === 404) return make('notFound');
  if (status === 403 && hasCause(body, NAMESPACE_TERMINATING_CAUSE)) return make('namespaceTerminating');
  if (status === 403) {
    const permission = bodyMessage === undefined ? undefined : parseDeniedPermission(bodyMessage);
    return make('forbidden', describeForbidden(permission, baseMessage), permission);
  }
  if (status === 401) return make('unauthorized');
  if (status === 400 || status === 422) return make('invalid');
  if (status === 429 || status >= 500) return make('transient');
  return make('other');
}

export const isConflict = (err: unknown): boolean => classifyKubeError(err).kind === 'conflict';
export const isNotFound = (err: unknown): boolean => classifyKubeError(err).kind === 'notFound';
export const isGone = (err: unknown): boolean => classifyKubeError(err).kind === 'gone';
export const isForbidden = (err: unknown): boolean => classifyKubeError(err).kind === 'forbidden';
export const isTransient = (err: unknown): boolean => classifyKubeError(err).kind === 'transient';
export const isNamespaceTerminating = (err: unknown): boolean => classifyKubeError(err).kind === 'namespaceTerminating';

function hasCause(body: StatusBody | undefined, cause: string): boolean {
  const causes = body?.details?.causes;
  return Array.isArray(causes) && causes.some((candidate) => candidate?.reason === cause);
}

/**
 * Reads the apiserver's RBAC denial, e.g.
 * `statefulsets.apps "zk" is forbidden: User "system:serviceaccount:ops:zk-operator"
 * cannot patch resource "statefulsets" in API group "apps" in the namespace "zk"`.
 */
export function parseDeniedPermission(message: string): DeniedPermission | undefined {
  const match =
    /User "(?<user>[^"]*)" cannot (?<verb>\S+) resource "(?<resource>[^"]+)"(?: in API group "(?<group>[^"]*)")?(?: in the namespace "(?<namespace>[^"]+)")?/.exec(
      message,
    );
  const groups = match?.groups;
  if (groups === undefined) return undefined;
  return {
    user: groups.user ?? '',
    verb: groups.verb ?? '',
    resource: groups.resource ?? '',
    group: groups.group ?? '',
    namespace: groups.namespace,
  };
}

function describeForbidden(permission: DeniedPermission | undefined, fallback: string): string {
  if (permission === undefined) return `forbidden: ${fallback}`;
  const resource = permission.group === '' ? permission.resource : `${permission.resource}.${permission.group}`;
  const scope = permission.namespace === undefined ? 'cluster-wide' : `in namespace ${permission.namespace}`;
  return `forbidden: ${permission.user} may not ${permission.verb} ${resource} ${scope}; grant "${permission.verb}" on "${resource}" in the operator's RBAC`;
}

function statusCodeOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { code, statusCode } = err as { code?: unknown; statusCode?: unknown };
  if (typeof statusCode === 'number') return statusCode;
  // `code` is the HTTP status on ApiException and Status objects, but a string on Node errors.
  if (typeof code === 'number') return code;
  return undefined;
}

function statusBodyOf(err: unknown): StatusBody | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const candidate = 'body' in err ? (err as { body: unknown }).body : err;
  if (typeof candidate === 'string') {
    try {
      const parsed: unknown = JSON.parse(candidate);
      return typeof parsed === 'object' && parsed !== null ? (parsed as StatusBody) : undefined;
    } catch {
      // Not JSON (e.g. a proxy's HTML error page): there is no Status to read.
      return undefined;
    }
  }
  return typeof candidate === 'object' && candidate !== null ? (candidate as StatusBody) : undefined;
}

function networkCodeOf(err: unknown): string | undefined {
  for (let current: unknown = err, depth = 0; current !== undefined && depth < 5; depth++) {
    if (typeof current !== 'object' || current === null) return undefined;
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function isTransientNetworkError(err: unknown): boolean {
  const code = networkCodeOf(err);
  if (code !== undefined && TRANSIENT_NETWORK_CODES.has(code)) return true;
  if (!(err instanceof Error)) return false;
  // undici reports every connection failure as `TypeError: fetch failed`, sometimes without a coded cause.
  return err.message === 'fetch failed' || err.name === 'TimeoutError';
}

function networkMessage(err: unknown): string {
  const code = networkCodeOf(err);
  const message = messageOf(err);
  return code === undefined || message.includes(code) ? message : `${message} (${code})`;
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? err.message;
  if (typeof err === 'object' && err !== null && typeof (err as StatusBody).message === 'string') {
    return (err as { message: string }).message;
  }
  return String(err);
}
