/**
 * Events at the HTTP level (nock): what is sent, and what a refused POST leaves in the log. A
 * refusal is logged as the API server's one-line message, never as client-node's error text
 * (which carries the raw response body and headers), and a namespace being deleted is not a
 * problem anyone must act on.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import test from 'ava';
import nock from 'nock';
import { makeObservedApiClient } from '../../../src/runtime/api-client.js';
import { FakeClock } from '../../../src/runtime/clock.js';
import { EventRecorder } from '../../../src/runtime/event-recorder.js';
import { MemoryLogger } from '../../../src/runtime/logging.js';
import { aCluster } from '../../support/builders.js';
import { fakeKubeConfig } from '../../support/fake-kubeconfig.js';

const SERVER = 'http://kube.test';
const EVENTS = '/api/v1/namespaces/zk/events';

test.before(() => nock.disableNetConnect());
test.afterEach.always(() => nock.cleanAll());

function recorder() {
  const logger = new MemoryLogger();
  const core = makeObservedApiClient(fakeKubeConfig(SERVER), CoreV1Api, {});
  return { logger, events: new EventRecorder({ core, clock: new FakeClock(), logger, instance: 'test' }) };
}

const cluster = aCluster({}, { name: 'zk', namespace: 'zk' });

/** kube-apiserver v1.36.3's answer to an Event POST in a namespace being deleted (captured). */
const NAMESPACE_TERMINATING_BODY =
  '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"events \\"zk.\\" is forbidden: unable to create new content in namespace zk because it is being terminated","reason":"Forbidden","details":{"name":"zk.","kind":"events","causes":[{"reason":"NamespaceTerminating","message":"namespace zk is being terminated","field":"metadata.namespace"}]},"code":403}\n';

const lines = (logger: MemoryLogger) =>
  logger.lines.map((line) => `${line.level} ${line.message} ${JSON.stringify(line.fields)}`);

test.serial('an event is posted on the object it is about', async (t) => {
  let posted: unknown;
  nock(SERVER)
    .post(EVENTS)
    .reply(201, async (request: Request) => {
      posted = JSON.parse(await request.text());
      return {};
    });
  const { events, logger } = recorder();
  t.true(await events.record(cluster, 'Normal', 'Created', 'Created ConfigMap zk-config'));
  t.like(posted, {
    type: 'Normal',
    reason: 'Created',
    message: 'Created ConfigMap zk-config',
    involvedObject: { kind: 'ZooKeeperCluster', name: 'zk', namespace: 'zk', uid: cluster.metadata.uid },
  });
  t.deepEqual(lines(logger), []);
});

test.serial(
  'an event refused because its namespace is being deleted: one debug line, no body, no warning',
  async (t) => {
    nock(SERVER).post(EVENTS).reply(403, NAMESPACE_TERMINATING_BODY, {
      'content-type': 'application/json',
      'audit-id': 'e1b73b91-f496-4dc8-9e48-02244ae1198b',
    });
    const { events, logger } = recorder();
    t.false(await events.record(cluster, 'Warning', 'ApplyFailed', 'applying failed'));
    t.deepEqual(lines(logger), [
      `debug event not recorded: its namespace is being deleted ${JSON.stringify({
        reason: 'ApplyFailed',
        object: 'zk',
        error: 'events "zk." is forbidden: unable to create new content in namespace zk because it is being terminated',
        status: 403,
      })}`,
    ]);
  },
);

test.serial('any other refused event: one warning with the API server’s message, never the raw body', async (t) => {
  nock(SERVER)
    .post(EVENTS)
    .reply(
      500,
      '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"etcdserver: request timed out","reason":"InternalError","code":500}\n',
      { 'content-type': 'application/json', 'audit-id': 'f3664207' },
    );
  const { events, logger } = recorder();
  t.false(await events.record(cluster, 'Normal', 'Updated', 'Updated Service zk-client'));
  t.deepEqual(lines(logger), [
    `warn could not record an event ${JSON.stringify({
      reason: 'Updated',
      object: 'zk',
      error: 'etcdserver: request timed out',
      status: 500,
    })}`,
  ]);
});
