/**
 * The operator's writes at the HTTP level (nock): server-side apply with the field manager and
 * force, status through /status, restarts as evictions with a uid precondition (and what each
 * refusal of the Eviction API means), deletions with a uid precondition, and the error paths a
 * reconcile must classify (409, 403, 5xx, network).
 */
import { AppsV1Api, CoreV1Api, CustomObjectsApi, NetworkingV1Api, PolicyV1Api } from '@kubernetes/client-node';
import test from 'ava';
import nock from 'nock';
import { ownerReference, renderCluster } from '../../../src/render/cluster.js';
import { type ApiRequest, makeObservedApiClient } from '../../../src/runtime/api-client.js';
import { classifyKubeError, type KubeErrorKind } from '../../../src/runtime/kube-errors.js';
import { KubeWriter } from '../../../src/runtime/kube-writer.js';
import { OperatorMetrics } from '../../../src/runtime/metrics.js';
import { aCluster } from '../../support/builders.js';
import { fakeKubeConfig } from '../../support/fake-kubeconfig.js';

const SERVER = 'http://kube.test';

test.before(() => nock.disableNetConnect());
test.afterEach.always(() => nock.cleanAll());

function writer() {
  const kubeConfig = fakeKubeConfig(SERVER);
  const requests: ApiRequest[] = [];
  const metrics = new OperatorMetrics({ processMetrics: false });
  const options = { metrics, onRequest: (request: ApiRequest) => requests.push(request) };
  const clients = {
    core: makeObservedApiClient(kubeConfig, CoreV1Api, options),
    apps: makeObservedApiClient(kubeConfig, AppsV1Api, options),
    policy: makeObservedApiClient(kubeConfig, PolicyV1Api, options),
    networking: makeObservedApiClient(kubeConfig, NetworkingV1Api, options),
    custom: makeObservedApiClient(kubeConfig, CustomObjectsApi, options),
  };
  return { writer: new KubeWriter(clients), requests, metrics };
}

const desired = renderCluster({ cluster: aCluster(), bootstrap: true });
const status = (code: number, reason: string, message = `injected ${reason}`) => ({
  kind: 'Status',
  apiVersion: 'v1',
  status: 'Failure',
  code,
  reason,
  message,
});

test.serial('apply is a server-side apply patch under the operator field manager, forced', async (t) => {
  let contentType: string | null | undefined;
  let body: unknown;
  nock(SERVER)
    .patch('/apis/apps/v1/namespaces/default/statefulsets/example')
    .query({ fieldManager: 'zookeeper-operator', force: 'true' })
    .reply(200, async (request: Request) => {
      contentType = request.headers.get('content-type');
      body = JSON.parse(await request.text());
      return desired.statefulSet;
    });
  const { writer: w, requests, metrics } = writer();
  await w.apply(desired.statefulSet);
  t.is(contentType, 'application/apply-patch+yaml');
  t.like(body, { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'example' } });
  t.deepEqual(
    requests.map((r) => `${r.method} ${r.status}`),
    ['PATCH 200'],
  );
  t.regex(await metrics.render(), /rest_client_requests_total\{verb="PATCH",code="200"\} 1/);
});

test.serial('status is applied through the status subresource', async (t) => {
  const scope = nock(SERVER)
    .patch('/apis/zookeeper.ensembles.dev/v1alpha1/namespaces/default/zookeeperclusters/example/status')
    .query({ fieldManager: 'zookeeper-operator', force: 'true' })
    .reply(200, {});
  await writer().writer.applyClusterStatus('default', 'example', { phase: 'Running' });
  t.true(scope.isDone());
});

const uidDeletions: {
  what: string;
  path: string;
  remove: (w: KubeWriter) => Promise<void>;
}[] = [
  {
    what: 'a NetworkPolicy turned off',
    path: '/apis/networking.k8s.io/v1/namespaces/default/networkpolicies/example',
    remove: (w) => w.deleteNetworkPolicy('default', 'example', 'uid-1'),
  },
];
for (const c of uidDeletions) {
  test.serial(`${c.what} is deleted only with its uid as a precondition`, async (t) => {
    let body: unknown;
    nock(SERVER)
      .delete(c.path)
      .reply(200, async (request: Request) => {
        body = JSON.parse(await request.text());
        return { kind: 'Status', status: 'Success' };
      });
    await c.remove(writer().writer);
    t.deepEqual(body, { preconditions: { uid: 'uid-1' } });
  });
}

const EVICTION_PATH = '/api/v1/namespaces/default/pods/example-1/eviction';

test.serial('a member is restarted by a policy/v1 Eviction that carries its uid as a precondition', async (t) => {
  let contentType: string | null | undefined;
  let body: unknown;
  nock(SERVER)
    .post(EVICTION_PATH)
    .reply(201, async (request: Request) => {
      contentType = request.headers.get('content-type');
      body = JSON.parse(await request.text());
      return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };
    });
  const { writer: w, requests } = writer();
  t.deepEqual(await w.evictPod('default', 'example-1', 'uid-1'), { kind: 'evicted' });
  t.is(contentType, 'application/json');
  t.deepEqual(body, {
    apiVersion: 'policy/v1',
    kind: 'Eviction',
    metadata: { name: 'example-1', namespace: 'default' },
    deleteOptions: { preconditions: { uid: 'uid-1' } },
  });
  t.deepEqual(
    requests.map((r) => `${r.method} ${r.path} ${r.status}`),
    [`POST ${EVICTION_PATH} 201`],
  );
});

/** The API server's refusal when the budget allows no disruption (policy/v1 eviction.go). */
const budgetRefusal = (cause: string) => ({
  ...status(429, 'TooManyRequests', "Cannot evict pod as it would violate the pod's disruption budget."),
  details: { causes: [{ reason: 'DisruptionBudget', message: cause }], retryAfterSeconds: 0 },
});

const evictionAnswers: {
  name: string;
  code: number;
  reply: object;
  outcome: object;
}[] = [
  {
    name: '429 from the budget: refused in the budget’s own words',
    code: 429,
    reply: budgetRefusal('The disruption budget example needs 2 healthy pods and has 2 currently'),
    outcome: {
      kind: 'budgetRefused',
      detail: 'The disruption budget example needs 2 healthy pods and has 2 currently',
    },
  },
  {
    name: '429 while the budget’s status is not current yet',
    code: 429,
    reply: budgetRefusal('The disruption budget example is still being processed by the server.'),
    outcome: { kind: 'budgetRefused', detail: 'The disruption budget example is still being processed by the server.' },
  },
  {
    name: '403 about the budget itself (its status is broken), not about the operator’s rights',
    code: 403,
    reply: {
      ...status(
        403,
        'Forbidden',
        'poddisruptionbudget.policy "example" is forbidden: pdb disruptions allowed is negative',
      ),
      details: { name: 'example', group: 'policy', kind: 'poddisruptionbudget' },
    },
    outcome: {
      kind: 'budgetRefused',
      detail: 'poddisruptionbudget.policy "example" is forbidden: pdb disruptions allowed is negative',
    },
  },
  {
    name: '404: the pod is gone already',
    code: 404,
    reply: status(404, 'NotFound', 'pods "example-1" not found'),
    outcome: { kind: 'gone' },
  },
  {
    name: '409: the uid precondition failed, the pod was replaced',
    code: 409,
    reply: status(
      409,
      'Conflict',
      'Operation cannot be fulfilled on Pod "example-1": the UID in the precondition (uid-1) does not match the UID in record (uid-2). The object might have been deleted and then recreated',
    ),
    outcome: { kind: 'replaced' },
  },
  {
    // The API server sends this refusal as a Status in a 201 answer; client-node alone would read it as success.
    name: '201 carrying a failed Status: more than one budget selects the pod',
    code: 201,
    reply: {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
      code: 500,
    },
    outcome: { kind: 'multipleBudgets' },
  },
];
for (const c of evictionAnswers) {
  test.serial(`an eviction answered ${c.name}; one request, never a deletion`, async (t) => {
    nock(SERVER).post(EVICTION_PATH).reply(c.code, c.reply);
    const { writer: w, requests } = writer();
    t.deepEqual(await w.evictPod('default', 'example-1', 'uid-1'), c.outcome);
    t.deepEqual(
      requests.map((r) => `${r.method} ${r.path} ${r.status}`),
      [`POST ${EVICTION_PATH} ${c.code}`],
    );
  });
}

const evictionErrors: { name: string; code: number; reply: object; kind: KubeErrorKind; message: RegExp }[] = [
  {
    name: '403 from RBAC: the operator lacks create on pods/eviction',
    code: 403,
    reply: status(
      403,
      'Forbidden',
      'pods "example-1" is forbidden: User "op" cannot create resource "pods/eviction" in API group "" in the namespace "default"',
    ),
    kind: 'forbidden',
    message: /may not create pods\/eviction in namespace default/,
  },
  {
    name: '429 without the budget’s cause: the API server’s own throttling',
    code: 429,
    reply: status(429, 'TooManyRequests', 'Too many requests, please try again later.'),
    kind: 'transient',
    message: /Too many requests/,
  },
  {
    name: '500',
    code: 500,
    reply: status(500, 'InternalError', 'etcdserver: request timed out'),
    kind: 'transient',
    message: /request timed out/,
  },
];
for (const c of evictionErrors) {
  test.serial(`an eviction failing with ${c.name} is thrown, classified as ${c.kind}`, async (t) => {
    nock(SERVER).post(EVICTION_PATH).reply(c.code, c.reply);
    const { writer: w, requests } = writer();
    const error = await t.throwsAsync(w.evictPod('default', 'example-1', 'uid-1'));
    const classified = classifyKubeError(error);
    t.is(classified.kind, c.kind);
    t.regex(classified.message, c.message);
    t.is(requests.length, 1, 'no other request (no deletion) followed');
  });
}

test.serial('an eviction answered 201 with another failed Status is thrown with the server’s words', async (t) => {
  nock(SERVER)
    .post(EVICTION_PATH)
    .reply(201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'odd', code: 500 });
  await t.throwsAsync(writer().writer.evictPod('default', 'example-1', 'uid-1'), {
    message: 'evicting pod default/example-1: the API server answered 500: odd',
  });
});

test.serial('a StatefulSet is recreated by deleting only it: uid precondition, dependents orphaned', async (t) => {
  let body: unknown;
  nock(SERVER)
    .delete('/apis/apps/v1/namespaces/default/statefulsets/example')
    .reply(200, async (request: Request) => {
      body = JSON.parse(await request.text());
      return { kind: 'StatefulSet', metadata: { name: 'example' } };
    });
  await writer().writer.deleteStatefulSetKeepingPods('default', 'example', 'uid-sts');
  t.deepEqual(body, { preconditions: { uid: 'uid-sts' }, propagationPolicy: 'Orphan' });
});

test.serial('a claim grows by a merge patch of its storage request alone', async (t) => {
  let contentType: string | null | undefined;
  let body: unknown;
  nock(SERVER)
    .patch('/api/v1/namespaces/default/persistentvolumeclaims/data-example-0')
    .reply(200, async (request: Request) => {
      contentType = request.headers.get('content-type');
      body = JSON.parse(await request.text());
      return { kind: 'PersistentVolumeClaim', metadata: { name: 'data-example-0' } };
    });
  await writer().writer.resizeClaim('default', 'data-example-0', '20Gi');
  t.is(contentType, 'application/merge-patch+json');
  t.deepEqual(body, { spec: { resources: { requests: { storage: '20Gi' } } } });
});

test.serial('a member pod is annotated by a merge patch that carries its uid as a precondition', async (t) => {
  let contentType: string | null | undefined;
  let body: unknown;
  nock(SERVER)
    .patch('/api/v1/namespaces/default/pods/example-0')
    .reply(200, async (request: Request) => {
      contentType = request.headers.get('content-type');
      body = JSON.parse(await request.text());
      return { kind: 'Pod', metadata: { name: 'example-0' } };
    });
  await writer().writer.annotatePod('default', 'example-0', 'uid-0', 'example.dev/key', 'value');
  t.is(contentType, 'application/merge-patch+json');
  t.deepEqual(body, { metadata: { uid: 'uid-0', annotations: { 'example.dev/key': 'value' } } });
});

test.serial('the NetworkPolicy is applied with its rules spelt as the API spells them (`from`)', async (t) => {
  let body: { spec?: { ingress?: Record<string, unknown>[] } } | undefined;
  nock(SERVER)
    .patch('/apis/networking.k8s.io/v1/namespaces/default/networkpolicies/example')
    .query({ fieldManager: 'zookeeper-operator', force: 'true' })
    .reply(200, async (request: Request) => {
      body = JSON.parse(await request.text());
      return body;
    });
  const policy = desired.networkPolicy;
  if (policy === undefined) throw new Error('no NetworkPolicy rendered');
  await writer().writer.apply(policy);
  t.deepEqual(
    body?.spec?.ingress?.map((rule) => Object.keys(rule).sort()),
    [['ports'], ['from', 'ports'], ['ports']],
  );
});

const SECRET_PATH = '/api/v1/namespaces/default/secrets/example-super-user';
const owner = ownerReference(aCluster());
const secretWith = (ownerReferences: object[]) => ({
  kind: 'Secret',
  apiVersion: 'v1',
  metadata: { name: 'example-super-user', namespace: 'default', ownerReferences },
  data: { password: Buffer.from('planted').toString('base64') },
});

test.serial('a missing super-user Secret is created, owned by the cluster, and its password used', async (t) => {
  let created: { metadata?: { ownerReferences?: unknown[] }; stringData?: Record<string, string> } | undefined;
  nock(SERVER).get(SECRET_PATH).reply(404, status(404, 'NotFound'));
  nock(SERVER)
    .post('/api/v1/namespaces/default/secrets')
    .reply(201, async (request: Request) => {
      created = JSON.parse(await request.text());
      return created;
    });
  const secret = await writer().writer.superUserSecret('default', 'example-super-user', owner);
  t.deepEqual(created?.metadata?.ownerReferences, [owner]);
  t.deepEqual(secret, { kind: 'owned', password: created?.stringData?.password ?? 'none' });
});

test.serial('a super-user Secret the cluster owns is read once, and its password used', async (t) => {
  const scope = nock(SERVER)
    .get(SECRET_PATH)
    .once()
    .reply(200, secretWith([owner]));
  const { writer: w, requests } = writer();
  t.deepEqual(await w.superUserSecret('default', 'example-super-user', owner), { kind: 'owned', password: 'planted' });
  t.deepEqual(await w.superUserSecret('default', 'example-super-user', owner), { kind: 'owned', password: 'planted' });
  t.true(scope.isDone());
  t.is(requests.length, 1);
});

/** client-node's model instances as plain data. */
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

const foreign: { name: string; ownerReferences: object[] }[] = [
  { name: 'no owner reference', ownerReferences: [] },
  { name: 'an owner reference to an earlier cluster of that name', ownerReferences: [{ ...owner, uid: 'earlier' }] },
  { name: 'a reference to the cluster that is not the controller', ownerReferences: [{ ...owner, controller: false }] },
  {
    name: 'a reference to the cluster that does not block its deletion',
    ownerReferences: [{ ...owner, blockOwnerDeletion: false }],
  },
];
for (const c of foreign) {
  test.serial(`a super-user Secret with ${c.name} is reported, not used, and left alone`, async (t) => {
    nock(SERVER).get(SECRET_PATH).twice().reply(200, secretWith(c.ownerReferences));
    const { writer: w, requests } = writer();
    const expected = { kind: 'notOwned', ownerReferences: c.ownerReferences };
    t.deepEqual(plain(await w.superUserSecret('default', 'example-super-user', owner)), expected);
    // Not remembered: once it is deleted, the operator creates its own.
    t.deepEqual(plain(await w.superUserSecret('default', 'example-super-user', owner)), expected);
    t.deepEqual(
      requests.map((r) => `${r.method} ${r.path}`),
      [`GET ${SECRET_PATH}`, `GET ${SECRET_PATH}`],
    );
  });
}

test.serial('a Secret created by someone else between the read and the create is judged like any other', async (t) => {
  nock(SERVER).get(SECRET_PATH).reply(404, status(404, 'NotFound'));
  nock(SERVER).post('/api/v1/namespaces/default/secrets').reply(409, status(409, 'AlreadyExists'));
  nock(SERVER).get(SECRET_PATH).reply(200, secretWith([]));
  const secret = await writer().writer.superUserSecret('default', 'example-super-user', owner);
  t.deepEqual(secret, { kind: 'notOwned', ownerReferences: [] });
});

const failures: {
  name: string;
  reply: (scope: nock.Interceptor) => nock.Scope;
  kind: KubeErrorKind;
  message?: RegExp;
}[] = [
  { name: '409 Conflict', reply: (s) => s.reply(409, status(409, 'Conflict')), kind: 'conflict' },
  {
    name: '403 Forbidden',
    reply: (s) =>
      s.reply(
        403,
        status(
          403,
          'Forbidden',
          'configmaps "example-config" is forbidden: User "op" cannot patch resource "configmaps" in API group "" in the namespace "default"',
        ),
      ),
    kind: 'forbidden',
    message: /patch.*configmaps/,
  },
  { name: '503 Service Unavailable', reply: (s) => s.reply(503, status(503, 'ServiceUnavailable')), kind: 'transient' },
];

for (const failure of failures) {
  test.serial(`an apply failing with ${failure.name} is classified as ${failure.kind}`, async (t) => {
    failure.reply(nock(SERVER).patch('/api/v1/namespaces/default/configmaps/example-config').query(true));
    const { writer: w, requests } = writer();
    const error = await t.throwsAsync(w.apply(desired.configMap));
    const classified = classifyKubeError(error);
    t.is(classified.kind, failure.kind);
    if (failure.message) t.regex(classified.message, failure.message);
    t.is(requests.length, 1, 'the request was reported');
  });
}

test.serial('a refused connection is reported without a status and classified as transient', async (t) => {
  nock.enableNetConnect('127.0.0.1');
  t.teardown(() => nock.disableNetConnect());
  const kubeConfig = fakeKubeConfig('http://127.0.0.1:1');
  const requests: ApiRequest[] = [];
  const core = makeObservedApiClient(kubeConfig, CoreV1Api, { onRequest: (r) => requests.push(r) });
  const error = await t.throwsAsync(core.readNamespacedConfigMap({ namespace: 'default', name: 'x' }));
  t.is(classifyKubeError(error).kind, 'transient');
  t.deepEqual(requests, [{ method: 'GET', path: '/api/v1/namespaces/default/configmaps/x', status: undefined }]);
});
