/**
 * Rendering of SASL DIGEST-MD5 users (`spec.authentication.digestUsers`): the sasl ACL scheme in
 * zoo.cfg, the users' Secret mounted read-only, and the Secret's fingerprint in the pod template,
 * so that a change of users changes the revision. A cluster without users renders none of it.
 */
import test from 'ava';
import { DIGEST_USERS_ANNOTATION } from '../../../src/api/constants.js';
import { renderCluster } from '../../../src/render/cluster.js';
import { aCluster } from '../../support/builders.js';
import { memberConfigFiles } from '../../support/member-config.js';

const withUsers = aCluster({ replicas: 3, authentication: { digestUsers: { secretName: 'zk-users' } } });
const render = (cluster = withUsers, digestUsersFingerprint: string | undefined = 'f1') =>
  renderCluster({ cluster, bootstrap: true, digestUsersFingerprint });
const zooCfg = (desired: ReturnType<typeof render>) => memberConfigFiles(desired)['zoo.cfg'] ?? '';

test('zoo.cfg enables the sasl ACL scheme only when the spec names SASL users', (t) => {
  const saslLine = 'authProvider.sasl=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n';
  t.true(zooCfg(render()).includes(saslLine));
  t.false(zooCfg(render(aCluster({ replicas: 3 }))).includes('authProvider'));
});

test('member pods mount the users’ Secret read-only and tell the start script where it is', (t) => {
  const pod = render().statefulSet.spec?.template;
  t.deepEqual(
    pod?.spec?.volumes?.find((v) => v.name === 'digest-users'),
    { name: 'digest-users', secret: { secretName: 'zk-users', defaultMode: 0o440 } },
  );
  const container = pod?.spec?.containers[0];
  t.deepEqual(
    container?.volumeMounts?.find((m) => m.name === 'digest-users'),
    { name: 'digest-users', mountPath: '/digest-users', readOnly: true },
  );
  t.like(
    container?.env?.find((e) => e.name === 'ZK_DIGEST_USERS_SOURCE'),
    { value: '/digest-users' },
  );
  t.is(pod?.metadata?.annotations?.[DIGEST_USERS_ANNOTATION], 'f1');
});

test('a new fingerprint of the users’ Secret changes the revision, the same one keeps it', (t) => {
  t.is(render(withUsers, 'f1').revision, render(withUsers, 'f1').revision);
  t.not(render(withUsers, 'f1').revision, render(withUsers, 'f2').revision);
});

test('a cluster without SASL users carries no users’ volume or annotation, whatever fingerprint is passed', (t) => {
  const plain = aCluster({ replicas: 3 });
  const pod = render(plain, 'f1').statefulSet.spec?.template;
  t.is(pod?.metadata?.annotations?.[DIGEST_USERS_ANNOTATION], undefined);
  t.false(pod?.spec?.volumes?.some((v) => v.name === 'digest-users'));
  t.is(render(plain, 'f1').revision, render(plain, undefined).revision);
});
