/**
 * Locked doors, end to end with real ZooKeeper 3.8 and 3.9 on the local control plane: from any
 * network namespace but a member's own (this test process, a peer pod), the AdminServer is not
 * reachable and every 4lw outside the whitelist is refused; inside the member's pod the AdminServer
 * still answers on loopback. Health (the operator reads from this process, over the whitelisted
 * words) and the probes keep working, and the member pods mount no service-account token and are
 * admitted in a namespace that enforces the restricted Pod Security Standard.
 */
import { CoreV1Api, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import test, { type ExecutionContext } from 'ava';
import { resolveSpec } from '../../src/api/defaults.js';
import { sendFourLetterWord } from '../../src/zookeeper/four-letter-word.js';
import { controlPlane, newNamespace } from '../harness/fixture.js';
import { runCommand } from '../harness/kubelet/command.js';
import { pollUntil } from '../harness/poll.js';
import { createCluster, FORMED_MS, isSettled, memberPods, waitForStatus } from '../support/clusters.js';
import { runOperator } from '../support/operator.js';
import { containerProcessOf } from '../support/pods.js';

const { client: CLIENT_PORT, admin: ADMIN_PORT } = resolveSpec({}).ports;

/** AdminServer commands that leak (the JVM's properties with the super digest, sessions, connections) or change state. */
const FORBIDDEN_ADMIN_COMMANDS = [
  'system_properties',
  'dump',
  'connections',
  'environment',
  'stat_reset',
  'connection_stat_reset',
  'set_trace_mask',
  'snapshot',
];

/** 4lw that leak (sessions, environment, clients, watches) or change state (crst, srst, stmk). */
const REFUSED_WORDS = ['dump', 'envi', 'cons', 'stat', 'wchc', 'wchp', 'wchs', 'dirs', 'isro', 'crst', 'srst', 'stmk'];

/** The words the probes and the operator ask, and a line each answers with. */
const ALLOWED_WORDS: [string, RegExp][] = [
  ['ruok', /^imok$/],
  ['srvr', /^Mode: (leader|follower)$/m],
  ['mntr', /^zk_server_state\t(leader|follower)$/m],
  ['conf', /^serverId=\d+$/m],
];

/** A fresh namespace whose pods must meet the restricted Pod Security Standard, or be refused. */
async function restrictedNamespace(t: ExecutionContext): Promise<string> {
  const namespace = await newNamespace(t);
  await (await controlPlane()).kubeConfig
    .makeApiClient(CoreV1Api)
    .patchNamespace(
      { name: namespace, body: { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  return namespace;
}

const isReady = (pod: V1Pod) => (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/** Connects from inside `netns` with bash's /dev/tcp; with `request`, sends it and returns the whole answer. */
function connectFrom(netns: string, host: string, port: number, request = '') {
  const script = 'exec 3<>"/dev/tcp/$0/$1" && printf "%b" "$2" >&3 && timeout 10 cat <&3';
  return runCommand('ip', ['netns', 'exec', netns, 'bash', '-c', script, host, String(port), request]);
}

/** What a connection to `url` from this process fails with (its cause's code), or "answered". */
async function fetchFailure(url: string): Promise<string> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(10_000) });
    return 'answered';
  } catch (error) {
    return ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code ?? String(error);
  }
}

for (const version of ['3.8.6', '3.9.4']) {
  test.serial(
    `${version}: outside a member's pod the AdminServer is unreachable and 4lw beyond the whitelist are refused, while health, probes and the restricted profile hold`,
    async (t) => {
      const namespace = await restrictedNamespace(t);
      await runOperator(t, namespace);
      await createCluster(namespace, 'zk', { replicas: 3, image: `zookeeper:${version}`, storage: { size: '1Gi' } });

      // Health: the operator, in this process and so outside every pod, reads each member over the whitelisted 4lw.
      const status = await waitForStatus(namespace, 'zk', `settled on ${version}`, isSettled, FORMED_MS);
      t.is(status.currentVersion, version);
      t.is(status.ready, '3/3');
      t.true(
        (status.members ?? []).every((member) => member.serving && member.synced),
        JSON.stringify(status.members),
      );

      // Admitted under the restricted profile, and Ready: the readiness probe (srvr) passes.
      const pods = await pollUntil(
        'three member pods Ready',
        async () => {
          const listed = await memberPods(namespace, 'zk');
          return listed.length === 3 && listed.every(isReady) ? listed : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      for (const pod of pods) {
        const name = pod.metadata?.name ?? '';
        const ip = pod.status?.podIP ?? '';
        const peer = pods.find((other) => other !== pod);
        if (!peer) throw new Error('no peer pod');

        // Probes: startup and liveness (ruok) passed and never restarted the member.
        t.like(pod.status?.containerStatuses?.[0], { ready: true, started: true, restartCount: 0 }, name);

        // Pod credentials: the live pod asks for no service-account token.
        t.is(pod.spec?.automountServiceAccountToken, false, `${name} mounts no service-account token`);

        // The AdminServer: unreachable on the pod IP from this process and from a peer pod.
        for (const command of FORBIDDEN_ADMIN_COMMANDS) {
          t.is(
            await fetchFailure(`http://${ip}:${ADMIN_PORT}/commands/${command}`),
            'ECONNREFUSED',
            `${command} on ${name} from the test process`,
          );
        }
        await t.throwsAsync(
          connectFrom(containerProcessOf(peer).netns, ip, ADMIN_PORT),
          { message: /Connection refused/ },
          `the AdminServer of ${name} from ${peer.metadata?.name}`,
        );
        // ...while in the member's own network namespace it serves, secrets included: the door is locked, not missing.
        const inside = await connectFrom(
          containerProcessOf(pod).netns,
          '127.0.0.1',
          ADMIN_PORT,
          'GET /commands/system_properties HTTP/1.0\\r\\n\\r\\n',
        );
        t.regex(inside.stdout, /^HTTP\/1\.1 200 /, `${name}'s AdminServer on its loopback`);
        t.true(
          inside.stdout.includes('zookeeper.DigestAuthenticationProvider.superDigest'),
          `${name}'s system_properties hold the super digest, on its loopback only`,
        );

        // 4lw on the client port: the whitelisted words answer, every other word is refused unexecuted.
        for (const [word, answer] of ALLOWED_WORDS) {
          t.regex(await sendFourLetterWord(ip, CLIENT_PORT, word), answer, `${word} on ${name}`);
        }
        for (const word of REFUSED_WORDS) {
          t.is(
            (await sendFourLetterWord(ip, CLIENT_PORT, word)).trim(),
            `${word} is not executed because it is not in the whitelist.`,
            `${word} on ${name}`,
          );
        }
      }
    },
  );
}
