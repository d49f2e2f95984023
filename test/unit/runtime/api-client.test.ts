import { CoreV1Api } from '@kubernetes/client-node';
import test from 'ava';
import nock from 'nock';
import { type ApiRequest, makeObservedApiClient } from '../../../src/runtime/api-client.js';
import { fakeKubeConfig } from '../../support/fake-kubeconfig.js';

const SERVER = 'http://kube.test';
const CONFIG_MAP_PATH = '/api/v1/namespaces/zk/configmaps/main-config';

test.before(() => nock.disableNetConnect());
test.afterEach.always(() => nock.cleanAll());

test.serial('a write that beforeWrite refuses is never sent nor counted; reads are not asked', async (t) => {
  const api = nock(SERVER)
    .get(CONFIG_MAP_PATH)
    .reply(200, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'main-config', namespace: 'zk' } })
    .delete(CONFIG_MAP_PATH)
    .reply(200, {});
  const asked: string[] = [];
  const sent: ApiRequest[] = [];
  const core = makeObservedApiClient(fakeKubeConfig(SERVER), CoreV1Api, {
    onRequest: (request) => sent.push(request),
    beforeWrite: ({ method, path }) => {
      asked.push(`${method} ${path}`);
      throw new Error('write refused: leadership lost');
    },
  });
  await core.readNamespacedConfigMap({ namespace: 'zk', name: 'main-config' });
  await t.throwsAsync(core.deleteNamespacedConfigMap({ namespace: 'zk', name: 'main-config' }), {
    message: 'write refused: leadership lost',
  });
  t.deepEqual(asked, [`DELETE ${CONFIG_MAP_PATH}`]);
  t.deepEqual(
    sent.map((request) => `${request.method} ${request.status}`),
    ['GET 200'],
  );
  t.deepEqual(api.pendingMocks(), [`DELETE ${SERVER}:80${CONFIG_MAP_PATH}`], 'the DELETE never reached the server');
});

test.serial('a write that beforeWrite allows is sent', async (t) => {
  const api = nock(SERVER).delete(CONFIG_MAP_PATH).reply(200, {});
  const core = makeObservedApiClient(fakeKubeConfig(SERVER), CoreV1Api, { beforeWrite: () => undefined });
  await core.deleteNamespacedConfigMap({ namespace: 'zk', name: 'main-config' });
  t.true(api.isDone());
});

test.serial(
  'a write is checked again when it starts on its connection, and refused then it is never sent',
  async (t) => {
    const api = nock(SERVER).delete(CONFIG_MAP_PATH).reply(200, {});
    const sent: ApiRequest[] = [];
    let checks = 0;
    const core = makeObservedApiClient(fakeKubeConfig(SERVER), CoreV1Api, {
      onRequest: (request) => sent.push(request),
      // Allowed when handed to the HTTP stack, refused when its connection is ready (say, after a pause).
      beforeWrite: () => {
        checks += 1;
        if (checks > 1) throw new Error('write refused: leadership lost');
      },
    });
    await t.throwsAsync(core.deleteNamespacedConfigMap({ namespace: 'zk', name: 'main-config' }), {
      message: 'write refused: leadership lost',
    });
    t.is(checks, 2);
    t.deepEqual(sent, [], 'not counted as a request');
    t.false(api.isDone(), 'the DELETE never reached the server');
  },
);
