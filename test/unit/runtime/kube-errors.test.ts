import { ApiException } from '@kubernetes/client-node';
import test from 'ava';
import {
  classifyKubeError,
  isConflict,
  isNamespaceTerminating,
  isTransient,
  parseDeniedPermission,
} from '../../../src/runtime/kube-errors.js';

/** An ApiException as client-node 2.x throws it: the body is the raw response text. */
function anApiException(code: number, status: Record<string, unknown>): ApiException<string> {
  return new ApiException(code, 'request failed', JSON.stringify({ kind: 'Status', code, ...status }), {});
}

const FORBIDDEN_PATCH =
  'statefulsets.apps "zk" is forbidden: User "system:serviceaccount:ops:zk-operator" cannot patch resource "statefulsets" in API group "apps" in the namespace "zk"';

/**
 * kube-apiserver v1.36.3's answer to a server-side apply that would create a NetworkPolicy in a
 * namespace being deleted (captured from the local control plane), as client-node throws it.
 */
const NAMESPACE_TERMINATING = new ApiException(
  403,
  'Unknown API Status Code!',
  '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"networkpolicies.networking.k8s.io \\"c11\\" is forbidden: unable to create new content in namespace zk because it is being terminated","reason":"Forbidden","details":{"name":"c11","group":"networking.k8s.io","kind":"networkpolicies","causes":[{"reason":"NamespaceTerminating","message":"namespace zk is being terminated","field":"metadata.namespace"}]},"code":403}\n',
  { 'content-type': 'application/json', 'audit-id': 'e1b73b91-f496-4dc8-9e48-02244ae1198b' },
);

function aNetworkError(code: string): Error {
  return new TypeError('fetch failed', { cause: Object.assign(new Error(`connect ${code} 10.0.0.1:443`), { code }) });
}

const cases = [
  {
    name: '409 Conflict on update',
    err: anApiException(409, { reason: 'Conflict', message: 'the object has been modified' }),
    kind: 'conflict',
    status: 409,
  },
  {
    name: '409 AlreadyExists on create',
    err: anApiException(409, { reason: 'AlreadyExists', message: 'leases "zk" already exists' }),
    kind: 'alreadyExists',
    status: 409,
  },
  {
    name: '410 from a watch (statusCode)',
    err: Object.assign(new Error('Gone'), { statusCode: 410 }),
    kind: 'gone',
    status: 410,
  },
  {
    name: '410 ERROR watch event (Status object)',
    err: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' },
    kind: 'gone',
    status: 410,
  },
  { name: '404 NotFound', err: anApiException(404, { reason: 'NotFound' }), kind: 'notFound', status: 404 },
  {
    name: '403 Forbidden',
    err: anApiException(403, { reason: 'Forbidden', message: FORBIDDEN_PATCH }),
    kind: 'forbidden',
    status: 403,
  },
  {
    name: '403 from NamespaceLifecycle: a create in a namespace being deleted',
    err: NAMESPACE_TERMINATING,
    kind: 'namespaceTerminating',
    status: 403,
  },
  {
    name: '403 whose message only looks like a namespace being deleted (no NamespaceTerminating cause)',
    err: anApiException(403, {
      reason: 'Forbidden',
      message: 'denied: the namespace is being terminated, says a webhook',
    }),
    kind: 'forbidden',
    status: 403,
  },
  { name: '401 Unauthorized', err: anApiException(401, { reason: 'Unauthorized' }), kind: 'unauthorized', status: 401 },
  { name: '422 Invalid', err: anApiException(422, { reason: 'Invalid' }), kind: 'invalid', status: 422 },
  { name: '500 InternalError', err: anApiException(500, { reason: 'InternalError' }), kind: 'transient', status: 500 },
  {
    name: '503 from a watch',
    err: Object.assign(new Error('Service Unavailable'), { statusCode: 503 }),
    kind: 'transient',
    status: 503,
  },
  {
    name: '429 TooManyRequests',
    err: anApiException(429, { reason: 'TooManyRequests' }),
    kind: 'transient',
    status: 429,
  },
  {
    name: '502 with a non-JSON body',
    err: new ApiException(502, 'bad gateway', '<html>bad gateway</html>', {}),
    kind: 'transient',
    status: 502,
  },
  { name: 'ECONNREFUSED under fetch failed', err: aNetworkError('ECONNREFUSED'), kind: 'transient', status: undefined },
  { name: 'ETIMEDOUT under fetch failed', err: aNetworkError('ETIMEDOUT'), kind: 'transient', status: undefined },
  {
    name: 'socket error with the code on the error itself',
    err: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
    kind: 'transient',
    status: undefined,
  },
  { name: 'bare fetch failed', err: new TypeError('fetch failed'), kind: 'transient', status: undefined },
  { name: 'a programming error', err: new RangeError('index out of range'), kind: 'other', status: undefined },
  { name: 'a thrown string', err: 'boom', kind: 'other', status: undefined },
  { name: 'undefined', err: undefined, kind: 'other', status: undefined },
] as const;

for (const c of cases) {
  test(`classifies ${c.name} as ${c.kind}`, (t) => {
    const classified = classifyKubeError(c.err);
    t.is(classified.kind, c.kind);
    t.is(classified.status, c.status);
  });
}

test('the reason and message come from the Status body', (t) => {
  const classified = classifyKubeError(
    anApiException(409, { reason: 'Conflict', message: 'the object has been modified' }),
  );
  t.is(classified.reason, 'Conflict');
  t.is(classified.message, 'the object has been modified');
});

test('a create refused in a namespace being deleted reads as the API server’s one line, not as a missing permission', (t) => {
  const classified = classifyKubeError(NAMESPACE_TERMINATING);
  t.is(classified.reason, 'Forbidden');
  t.is(
    classified.message,
    'networkpolicies.networking.k8s.io "c11" is forbidden: unable to create new content in namespace zk because it is being terminated',
  );
  t.is(classified.permission, undefined);
  t.true(isNamespaceTerminating(NAMESPACE_TERMINATING));
  t.false(isNamespaceTerminating(anApiException(403, { reason: 'Forbidden', message: FORBIDDEN_PATCH })));
});

test('a 403 message names the user, verb, resource and namespace that RBAC denied', (t) => {
  const classified = classifyKubeError(anApiException(403, { reason: 'Forbidden', message: FORBIDDEN_PATCH }));
  t.deepEqual(classified.permission, {
    user: 'system:serviceaccount:ops:zk-operator',
    verb: 'patch',
    resource: 'statefulsets',
    group: 'apps',
    namespace: 'zk',
  });
  t.is(
    classified.message,
    'forbidden: system:serviceaccount:ops:zk-operator may not patch statefulsets.apps in namespace zk; grant "patch" on "statefulsets.apps" in the operator\'s RBAC',
  );
});

test('a cluster-scoped 403 in the core group says cluster-wide', (t) => {
  const message =
    'nodes is forbidden: User "system:serviceaccount:ops:zk-operator" cannot list resource "nodes" in API group "" at the cluster scope';
  const classified = classifyKubeError(anApiException(403, { reason: 'Forbidden', message }));
  t.is(classified.permission?.group, '');
  t.is(classified.permission?.namespace, undefined);
  t.regex(classified.message, /may not list nodes cluster-wide/);
});

test('a 403 without an RBAC message keeps the original text', (t) => {
  const classified = classifyKubeError(anApiException(403, { message: 'denied by admission webhook' }));
  t.is(classified.permission, undefined);
  t.is(classified.message, 'forbidden: denied by admission webhook');
});

test('a network error message carries the code from its cause', (t) => {
  t.is(classifyKubeError(aNetworkError('ECONNREFUSED')).message, 'fetch failed (ECONNREFUSED)');
});

test('predicates agree with the classification', (t) => {
  t.true(isConflict(anApiException(409, { reason: 'Conflict' })));
  t.false(isConflict(anApiException(409, { reason: 'AlreadyExists' })));
  t.true(isTransient(aNetworkError('ECONNREFUSED')));
  t.false(isTransient(anApiException(403, {})));
});

test('parseDeniedPermission ignores messages that are not RBAC denials', (t) => {
  t.is(parseDeniedPermission('something else went wrong'), undefined);
});
