/**
 * What the informers' LISTs put in the cache: objects spelt as the API spells them, like the
 * watch events that follow (nock).
 */
import { NetworkingV1Api } from '@kubernetes/client-node';
import test from 'ava';
import nock from 'nock';
import { renderCluster } from '../../../src/render/cluster.js';
import { makeObservedApiClient } from '../../../src/runtime/api-client.js';
import { networkPolicies } from '../../../src/runtime/watched-resources.js';
import { aCluster } from '../../support/builders.js';
import { fakeKubeConfig } from '../../support/fake-kubeconfig.js';

const SERVER = 'http://kube.test';

test.before(() => nock.disableNetConnect());
test.afterEach.always(() => nock.cleanAll());

test.serial(
  'listed NetworkPolicies keep `from` (client-node’s model says `_from`), so they equal watched ones',
  async (t) => {
    const rendered = renderCluster({ cluster: aCluster(), bootstrap: false }).networkPolicy;
    nock(SERVER)
      .get('/apis/networking.k8s.io/v1/namespaces/default/networkpolicies')
      .query(true)
      .reply(200, { kind: 'NetworkPolicyList', apiVersion: 'networking.k8s.io/v1', metadata: {}, items: [rendered] });
    const networking = makeObservedApiClient(fakeKubeConfig(SERVER), NetworkingV1Api, {});
    const list = await networkPolicies(networking).list({
      namespace: 'default',
      labelSelector: undefined,
      fieldSelector: undefined,
    });
    t.deepEqual(JSON.parse(JSON.stringify(list.items[0]?.spec)), rendered?.spec);
  },
);
