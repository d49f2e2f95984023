#!/usr/bin/env node
/**
 * Entry point: flags and environment → the operator process. Wiring only; see operator.ts.
 *
 * With leader election on, caches start at once but reconciling waits for the Lease; losing
 * it stops every action at once and exits (the Deployment restarts the process as a standby).
 * SIGTERM/SIGINT: stop taking work, finish in-flight reconciles, release the Lease, exit 0.
 * A second signal stops acting at once (in-flight reconciles can write no more), still
 * releases the Lease, and exits 1; a third exits at once, leaving the Lease to expire.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import { startOperator } from './operator.js';
import { makeObservedApiClient } from './runtime/api-client.js';
import { DEFAULT_BIND_ADDRESS } from './runtime/http-server.js';
import { LeaderElector } from './runtime/leader-election.js';
import { createLogger, parseLogFormat, parseLogLevel } from './runtime/logging.js';

const USAGE = `Usage: zookeeper-operator [flags]

Runs ZooKeeper ensembles declared as ZooKeeperCluster resources, in the current kube context
(KUBECONFIG, ~/.kube/config, or the in-cluster service account).

Flags (each also read from the environment variable in brackets):
  --namespaces LIST             comma-separated namespaces to watch; empty: all [WATCH_NAMESPACES]
  --workers N                   clusters reconciled concurrently (default 2) [WORKERS]
  --probe-address HOST:PORT     /healthz, /readyz and /metrics (default ${DEFAULT_BIND_ADDRESS}) [PROBE_ADDRESS]
  --leader-elect                run as one of several replicas; only the Lease holder acts [LEADER_ELECT=true]
  --leader-election-namespace   namespace of the Lease (default: POD_NAMESPACE, else default) [LEADER_ELECTION_NAMESPACE]
  --leader-election-id NAME     name of the Lease (default zookeeper-operator) [LEADER_ELECTION_ID]
  --log-level LEVEL             error, warn, info or debug (default info) [LOG_LEVEL]
  --log-format FORMAT           json or text (default json) [LOG_FORMAT]
  --operator-pod-labels LIST    this operator's pod labels (key=value,...), which each cluster's NetworkPolicy
                                admits to the client port from POD_NAMESPACE; the chart sets it [OPERATOR_POD_LABELS]
  --help, --version
`;

function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

/** `key=value,...` → the labels; throws on an entry without `=`. */
function labelList(flag: string, value: string): Record<string, string> {
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const at = entry.indexOf('=');
      if (at <= 0) throw new Error(`${flag} takes key=value pairs separated by commas, got "${entry}"`);
      return [entry.slice(0, at), entry.slice(at + 1)] as const;
    });
  return Object.fromEntries(entries);
}

function positiveInteger(flag: string, value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new Error(`${flag} must be a positive integer, got "${value}"`);
  return number;
}

async function main(): Promise<void> {
  const env = process.env;
  const { values } = parseArgs({
    options: {
      namespaces: { type: 'string', default: env.WATCH_NAMESPACES ?? '' },
      workers: { type: 'string', default: env.WORKERS ?? '2' },
      'probe-address': { type: 'string', default: env.PROBE_ADDRESS ?? DEFAULT_BIND_ADDRESS },
      'leader-elect': { type: 'boolean', default: env.LEADER_ELECT === 'true' },
      'leader-election-namespace': {
        type: 'string',
        default: env.LEADER_ELECTION_NAMESPACE ?? env.POD_NAMESPACE ?? 'default',
      },
      'leader-election-id': { type: 'string', default: env.LEADER_ELECTION_ID ?? 'zookeeper-operator' },
      'log-level': { type: 'string', default: env.LOG_LEVEL ?? 'info' },
      'log-format': { type: 'string', default: env.LOG_FORMAT ?? 'json' },
      'operator-pod-labels': { type: 'string', default: env.OPERATOR_POD_LABELS ?? '' },
      help: { type: 'boolean' },
      version: { type: 'boolean' },
    },
  });
  if (values.help) return void process.stdout.write(USAGE);
  if (values.version) return void console.log(packageVersion());

  const logger = createLogger({
    level: parseLogLevel(values['log-level']),
    format: parseLogFormat(values['log-format']),
    defaultFields: { component: 'zookeeper-operator' },
  });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  const operatorPodLabels = labelList('--operator-pod-labels', values['operator-pod-labels']);
  const podNamespace = env.POD_NAMESPACE;
  if (Object.keys(operatorPodLabels).length > 0 && !podNamespace) {
    throw new Error('--operator-pod-labels needs POD_NAMESPACE, the namespace the operator pods run in');
  }
  const operator = await startOperator({
    kubeConfig,
    namespaces: values.namespaces
      .split(',')
      .map((namespace) => namespace.trim())
      .filter(Boolean),
    workers: positiveInteger('--workers', values.workers),
    probeAddress: values['probe-address'],
    logger,
    ...(podNamespace && Object.keys(operatorPodLabels).length > 0
      ? { operatorPod: { namespace: podNamespace, labels: operatorPodLabels } }
      : {}),
  });
  logger.info('operator started', {
    version: packageVersion(),
    identity: operator.identity,
    server: kubeConfig.getCurrentCluster()?.server,
    probeAddress: `${operator.probeAddress.host}:${operator.probeAddress.port}`,
  });

  let elector: LeaderElector | undefined;
  let shuttingDown = false;
  if (values['leader-elect']) {
    elector = new LeaderElector({
      leases: makeObservedApiClient(kubeConfig, CoordinationV1Api, { metrics: operator.metrics }),
      namespace: values['leader-election-namespace'],
      name: values['leader-election-id'],
      identity: operator.identity,
      logger,
      onStartedLeading: (leadership) => operator.startActing(leadership),
      onStoppedLeading: (reason) => {
        if (reason === 'lost' && !shuttingDown) {
          logger.error('leadership lost; exiting so that only the new leader acts');
          process.exit(1);
        }
      },
    });
    void elector.run();
  } else {
    operator.startActing();
  }

  const shutDown = async () => {
    await operator.stop();
    await elector?.stop();
    process.exit(0);
  };
  // Handlers stay installed (not `once`): a second signal must not kill us with the Lease held.
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    shuttingDown = true;
    if (signals === 1) {
      logger.info('shutting down: finishing in-flight reconciles, then releasing the lease', { signal });
      void shutDown();
    } else if (signals === 2) {
      logger.warn('second signal: abandoning in-flight reconciles, releasing the lease, exiting', { signal });
      // Ends the term first, so no reconcile writes again, then hands the Lease back.
      void (elector?.stop() ?? Promise.resolve()).finally(() => process.exit(1));
    } else {
      logger.error('third signal: exiting at once; the lease expires instead of being released', { signal });
      process.exit(1);
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

main().catch((error: unknown) => {
  console.error(`zookeeper-operator: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
