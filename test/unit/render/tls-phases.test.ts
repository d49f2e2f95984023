/**
 * What each rung of the TLS ladders renders: the zoo.cfg keys ZooKeeper's rolling procedure
 * takes, the pod's key store mount and evidence annotations, the TLS client port on the pod and
 * the Services, and the members' lines once plaintext clients are kept on loopback.
 */
import test from 'ava';
import {
  CLIENT_TLS_ANNOTATION,
  type ClientTlsPhase,
  PLAINTEXT,
  QUORUM_TLS_ANNOTATION,
  QUORUM_TLS_PHASES,
  type TlsPhase,
} from '../../../src/api/tls-phases.js';
import { renderCluster } from '../../../src/render/cluster.js';
import { aCluster } from '../../support/builders.js';
import { memberConfigFiles } from '../../support/member-config.js';

const render = (tls: TlsPhase, spec = {}) =>
  renderCluster({ cluster: aCluster({ tls: { quorum: true, client: true }, ...spec }), bootstrap: false, tls });

const keysOf = (zooCfg: string) =>
  Object.fromEntries(
    zooCfg
      .split('\n')
      .filter((line) => /^[a-zA-Z]/.test(line))
      .map((line) => line.split('=') as [string, string]),
  );

test('each quorum rung renders ZooKeeper’s procedure: accept TLS, send TLS, refuse plaintext', (t) => {
  const expected = {
    plaintext: { portUnification: undefined, sslQuorum: undefined },
    'accepting-tls': { portUnification: 'true', sslQuorum: 'false' },
    'sending-tls': { portUnification: 'true', sslQuorum: 'true' },
    'tls-only': { portUnification: 'false', sslQuorum: 'true' },
  };
  for (const quorum of QUORUM_TLS_PHASES) {
    const keys = keysOf(memberConfigFiles(render({ quorum, client: 'plaintext' }))['zoo.cfg'] ?? '');
    t.like(keys, expected[quorum], quorum);
    t.is(keys.sslQuorumReloadCertFiles, quorum === 'plaintext' ? undefined : 'true', quorum);
    t.is(keys['ssl.quorum.keyStore.type'], quorum === 'plaintext' ? undefined : 'PEM', quorum);
  }
});

test('the client rungs serve the TLS port with client certificates required; tls-only changes no pod, only the lines', (t) => {
  const secure = render({ quorum: 'plaintext', client: 'secure-port' });
  const only = render({ quorum: 'plaintext', client: 'tls-only' });
  const keys = keysOf(memberConfigFiles(secure)['zoo.cfg'] ?? '');
  t.like(keys, {
    secureClientPort: '2281',
    serverCnxnFactory: 'org.apache.zookeeper.server.NettyServerCnxnFactory',
    'ssl.clientAuth': 'need',
    'client.certReload': 'true',
    'authProvider.x509': 'org.apache.zookeeper.server.auth.X509AuthenticationProvider',
  });
  t.is(only.revision, secure.revision, 'moving plaintext clients to loopback takes no restart');
  t.regex(only.configMap.data?.['zoo.cfg.dynamic'] ?? '', /^server\.1=.*;127\.0\.0\.1:2182$/m);
  t.regex(secure.configMap.data?.['zoo.cfg.dynamic'] ?? '', /^server\.1=.*;0\.0\.0\.0:2181$/m);
  const servicePorts = (phase: ClientTlsPhase) =>
    render({ quorum: 'plaintext', client: phase }).clientService.spec?.ports?.map((p) => `${p.name}:${p.port}`);
  t.deepEqual(servicePorts('plaintext'), ['client:2181']);
  t.deepEqual(servicePorts('secure-port'), ['client:2181', 'secure-client:2281']);
  t.deepEqual(servicePorts('tls-only'), ['secure-client:2281'], 'no plaintext port left for clients');
  const policyPorts = (phase: ClientTlsPhase) =>
    render({ quorum: 'plaintext', client: phase }).networkPolicy?.spec?.ingress?.[0]?.ports?.map((p) => p.port);
  t.deepEqual(policyPorts('secure-port'), [2181, 2281]);
});

test('a pod of a TLS rung mounts the certificate Secret, names its rungs, and declares the TLS client port; a plaintext pod has none of it', (t) => {
  const pod = (tls: TlsPhase) => render(tls).statefulSet.spec?.template;
  const tls = pod({ quorum: 'sending-tls', client: 'secure-port' });
  t.like(tls?.metadata?.annotations, {
    [QUORUM_TLS_ANNOTATION]: 'sending-tls',
    [CLIENT_TLS_ANNOTATION]: 'secure-port',
  });
  t.deepEqual(
    tls?.spec?.volumes?.find((v) => v.name === 'tls'),
    { name: 'tls', secret: { secretName: 'example-tls', defaultMode: 0o440 } },
  );
  const container = tls?.spec?.containers[0];
  t.like(
    container?.volumeMounts?.find((m) => m.name === 'tls'),
    { mountPath: '/tls', readOnly: true },
  );
  t.true(container?.ports?.some((p) => p.name === 'secure-client' && p.containerPort === 2281));
  const plain = pod(PLAINTEXT);
  t.is(plain?.metadata?.annotations?.[QUORUM_TLS_ANNOTATION], undefined);
  t.false(plain?.spec?.volumes?.some((v) => v.name === 'tls'));
  t.false(plain?.spec?.containers[0]?.ports?.some((p) => p.name === 'secure-client'));
  t.deepEqual(
    renderCluster({ cluster: aCluster(), bootstrap: false }).statefulSet,
    renderCluster({ cluster: aCluster({ tls: {} }), bootstrap: false }).statefulSet,
    'certificates alone change no pod',
  );
});

test('once clients use TLS only, the client Service keeps the plaintext port while a member still serves it there, waiting to move', (t) => {
  const waiting = new Map([
    [2, { line: 'server.2=…;0.0.0.0:2181', client: 2181, clientOnLoopback: false, quorum: 2888, election: 3888 }],
    [3, { line: 'server.3=…;127.0.0.1:2182', client: 2182, clientOnLoopback: true, quorum: 2888, election: 3888 }],
  ]);
  const ports = (pendingMoves: typeof waiting) =>
    renderCluster({
      cluster: aCluster({ tls: { client: true } }),
      bootstrap: false,
      tls: { quorum: 'plaintext', client: 'tls-only' },
      pendingMoves,
    }).clientService.spec?.ports?.map((p) => `${p.name}:${p.port}`);
  t.deepEqual(ports(waiting), ['client:2181', 'secure-client:2281']);
  t.deepEqual(
    ports(new Map([...waiting].filter(([myid]) => myid === 3))),
    ['secure-client:2281'],
    'a loopback port is no port for clients',
  );
});

test('a TLS pod mounts only the certificates of the trusted client CAs Secret, never another key of it (a CA Issuer’s Secret holds its key)', (t) => {
  const template = renderCluster({
    cluster: aCluster({ tls: { client: true, trustedClientCAs: { secretName: 'app-ca' } } }),
    bootstrap: false,
    tls: { quorum: 'plaintext', client: 'secure-port' },
  }).statefulSet.spec?.template;
  t.deepEqual(template?.spec?.volumes?.find((v) => v.name === 'client-cas')?.secret, {
    secretName: 'app-ca',
    items: [{ key: 'ca.crt', path: 'ca.crt' }],
    defaultMode: 0o444,
  });
});
