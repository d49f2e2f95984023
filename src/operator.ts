/**
 * Wiring of one operator process: API clients, informers feeding the work queue, the
 * ZooKeeperCluster controller, Events, and the health/metrics server. `main.ts` parses
 * flags and calls `startOperator`; integration tests call it directly.
 *
 * Caches start at once (so a standby replica is warm); the controller starts acting only
 * when `leadership` says so, and stops acting the moment leadership is lost. Every write,
 * to Kubernetes (objects, status, Secrets, deletes, Events) or to ZooKeeper's membership,
 * checks right before it is sent that this process still acts: not a standby, not
 * stopped, and its leadership still holds at that instant.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  NetworkingV1Api,
  PolicyV1Api,
  type V1Secret,
} from '@kubernetes/client-node';
import { API_GROUP, KIND, OPERATOR_NAME } from './api/constants.js';
import type { ZooKeeperCluster } from './api/types.js';
import type { ClusterCache, OwnedKind } from './controller/dependencies.js';
import { operatorCredentials } from './controller/operator-credential.js';
import { clusterReconciler } from './controller/reconciler.js';
import { selectorLabels } from './render/names.js';
import type { OperatorPod } from './render/network-policy.js';
import { TLS_SECRET_SELECTOR } from './render/tls-secrets.js';
import { type ApiRequest, makeObservedApiClient } from './runtime/api-client.js';
import { systemClock } from './runtime/clock.js';
import { clusterGauges } from './runtime/cluster-gauges.js';
import { type RunningController, runController } from './runtime/controller.js';
import { EventRecorder } from './runtime/event-recorder.js';
import { startProbeServer } from './runtime/http-server.js';
import { Informer, type KeyMapper, ownerKeys, ownKey, type WatchedResource } from './runtime/informer.js';
import { KubeWriter, type OwnedObject } from './runtime/kube-writer.js';
import type { Leadership } from './runtime/leader-election.js';
import { errorFields, type Logger } from './runtime/logging.js';
import { OperatorMetrics } from './runtime/metrics.js';
import { objectKey } from './runtime/object-key.js';
import * as resources from './runtime/watched-resources.js';
import { WorkQueue } from './runtime/work-queue.js';
import { memberStateReader } from './zookeeper/ensemble-reader.js';
import { type MembershipClient, zookeeperMembership } from './zookeeper/reconfig-client.js';

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  /** Namespaces to watch; empty: all namespaces. */
  namespaces: readonly string[];
  workers: number;
  /** `host:port` of /healthz, /readyz and /metrics. */
  probeAddress: string;
  logger: Logger;
  /** Identity in Events and the lease; defaults to hostname plus a random suffix. */
  identity?: string;
  /** Observes every API request (tests assert on them). */
  onApiRequest?: (request: ApiRequest) => void;
  /** Drain deadline of in-flight reconciles on stop. */
  drainTimeoutMs?: number;
  /** The operator's own pods, which each cluster's NetworkPolicy admits; unset when it runs outside a pod. */
  operatorPod?: OperatorPod;
}

export interface RunningOperator {
  readonly identity: string;
  readonly metrics: OperatorMetrics;
  readonly probeAddress: { host: string; port: number };
  /** Starts reconciling, under `leadership` when elected: its end stops every action at once. */
  startActing(leadership?: Leadership): void;
  /** Stops acting, finishes in-flight reconciles within the drain deadline, stops watches. */
  stop(): Promise<void>;
}

const MANAGED_SELECTOR = `app.kubernetes.io/managed-by=${OPERATOR_NAME}`;
const CACHE_SYNC_TIMEOUT_MS = 120_000;

/** Member pods and claims belong to the StatefulSet; map them to their cluster by the instance label. */
const podClusterKeys: KeyMapper<KubernetesObject> = (object) => {
  const instance = object.metadata?.labels?.['app.kubernetes.io/instance'];
  return instance === undefined ? [] : [objectKey(object.metadata?.namespace, instance)];
};

/** Objects carrying the selector labels of cluster `name`. */
const selectedBy = (namespace: string, name: string) => {
  const selector = selectorLabels({ name, namespace });
  return (object: KubernetesObject) =>
    Object.entries(selector).every(([key, value]) => object.metadata?.labels?.[key] === value);
};

/** `client` with each reconfiguration and write checked by `assertMayWrite` right before it starts. */
function guardedMembership(client: MembershipClient, assertMayWrite: (write: string) => void): MembershipClient {
  return {
    ...client,
    add: async (serverLine, fromVersion) => {
      assertMayWrite(`ZooKeeper reconfig -add ${serverLine}`);
      return client.add(serverLine, fromVersion);
    },
    remove: async (myid, fromVersion) => {
      assertMayWrite(`ZooKeeper reconfig -remove ${myid}`);
      return client.remove(myid, fromVersion);
    },
    move: async (serverLine, fromVersion) => {
      assertMayWrite(`ZooKeeper reconfig -add ${serverLine} (moving a member)`);
      return client.move(serverLine, fromVersion);
    },
    commitWrite: async () => {
      assertMayWrite('ZooKeeper commit write');
      return client.commitWrite();
    },
  };
}

export async function startOperator(options: OperatorOptions): Promise<RunningOperator> {
  const identity = options.identity ?? `${hostname()}-${randomUUID().slice(0, 8)}`;
  const logger = options.logger;
  const metrics = new OperatorMetrics();
  let controller: RunningController | undefined;
  const assertMayWrite = (write: string): void => {
    try {
      if (controller === undefined) throw new Error('this process is not acting (a standby)');
      controller.assertActing();
    } catch (refusal) {
      logger.warn('write refused: this process may no longer act', { write, ...errorFields(refusal) });
      throw refusal;
    }
  };
  const clientOptions = {
    metrics,
    beforeWrite: ({ method, path }: { method: string; path: string }) => assertMayWrite(`${method} ${path}`),
    ...(options.onApiRequest ? { onRequest: options.onApiRequest } : {}),
  };
  const api = {
    core: makeObservedApiClient(options.kubeConfig, CoreV1Api, clientOptions),
    apps: makeObservedApiClient(options.kubeConfig, AppsV1Api, clientOptions),
    policy: makeObservedApiClient(options.kubeConfig, PolicyV1Api, clientOptions),
    networking: makeObservedApiClient(options.kubeConfig, NetworkingV1Api, clientOptions),
    custom: makeObservedApiClient(options.kubeConfig, CustomObjectsApi, clientOptions),
  };
  const queue = new WorkQueue({ hooks: metrics.workQueueHooks('zookeepercluster') });
  const enqueue = (key: string) => queue.add(key);
  const informer = <T extends KubernetesObject>(
    resource: WatchedResource<T>,
    keysFor: KeyMapper<T>,
    labelSelector?: string,
  ) =>
    new Informer<T>({
      kubeConfig: options.kubeConfig,
      resource,
      namespaces: options.namespaces,
      keysFor,
      enqueue,
      logger,
      ...(labelSelector === undefined ? {} : { labelSelector }),
    });
  const ownedByCluster = ownerKeys(KIND, API_GROUP);
  const informers = {
    clusters: informer(resources.zooKeeperClusters(api.custom), ownKey),
    statefulSets: informer(resources.statefulSets(api.apps), ownedByCluster, MANAGED_SELECTOR),
    pods: informer(resources.pods(api.core), podClusterKeys, MANAGED_SELECTOR),
    services: informer(resources.services(api.core), ownedByCluster, MANAGED_SELECTOR),
    configMaps: informer(resources.configMaps(api.core), ownedByCluster, MANAGED_SELECTOR),
    podDisruptionBudgets: informer(resources.podDisruptionBudgets(api.policy), ownedByCluster, MANAGED_SELECTOR),
    networkPolicies: informer(resources.networkPolicies(api.networking), ownedByCluster, MANAGED_SELECTOR),
    // Claims belong to the StatefulSet (or to no one after a scale-down): map them by label.
    claims: informer(resources.persistentVolumeClaims(api.core), podClusterKeys, MANAGED_SELECTOR),
    // The certificate Secrets only: a renewal written, or a Secret deleted by hand, brings the cluster back.
    secrets: informer(resources.secrets(api.core), ownedByCluster, TLS_SECRET_SELECTOR),
  };
  const all = Object.values(informers) as Informer<KubernetesObject>[];

  const probeServer = await startProbeServer({
    bindAddress: options.probeAddress,
    metrics,
    logger,
    readinessChecks: Object.fromEntries(all.map((i) => [`informer:${i.name}`, i.readinessCheck()])),
  });
  for (const i of all) i.start();
  const synced = await Promise.all(all.map((i) => i.waitForSync(CACHE_SYNC_TIMEOUT_MS)));
  const unsynced = all.filter((_, index) => !synced[index]).map((i) => i.name);
  if (unsynced.length > 0) {
    await Promise.all(all.map((i) => i.stop()));
    await probeServer.close();
    throw new Error(`caches did not sync within ${CACHE_SYNC_TIMEOUT_MS / 1000} s: ${unsynced.join(', ')}`);
  }
  logger.info('caches synced', { informers: all.map((i) => i.name) });

  const cache: ClusterCache = {
    cluster: (namespace, name) => informers.clusters.get(name, namespace) as ZooKeeperCluster | undefined,
    owned: (kind: OwnedKind, namespace, name) => {
      const source = {
        ConfigMap: informers.configMaps,
        Service: informers.services,
        StatefulSet: informers.statefulSets,
        PodDisruptionBudget: informers.podDisruptionBudgets,
        NetworkPolicy: informers.networkPolicies,
      }[kind] as Informer<KubernetesObject>;
      return source.get(name, namespace) as OwnedObject | undefined;
    },
    memberPods: (namespace, clusterName) => informers.pods.list(namespace).filter(selectedBy(namespace, clusterName)),
    claims: (namespace, clusterName) => informers.claims.list(namespace).filter(selectedBy(namespace, clusterName)),
  };
  const writer = new KubeWriter(api);
  const events = new EventRecorder({ core: api.core, clock: systemClock(), logger, instance: identity });
  const reconcile = clusterReconciler({
    cache,
    writer,
    events,
    tls: {
      cached: (namespace, name) => informers.secrets.get(name, namespace) as V1Secret | undefined,
      read: (namespace, name) => writer.readSecret(namespace, name),
      create: (secret) => writer.createSecret(secret),
      replace: (secret) => writer.replaceSecret(secret),
    },
    userSecrets: { read: (namespace, name) => writer.readSecret(namespace, name) },
    certManager: {
      read: (namespace, name) => writer.readCertificate(namespace, name),
      apply: (certificate) => writer.applyCertificate(certificate),
    },
    ensemble: memberStateReader(),
    credentials: operatorCredentials(),
    membership: (servers, superPassword) =>
      guardedMembership(zookeeperMembership({ servers, superPassword }), assertMayWrite),
    health: clusterGauges(metrics),
    ...(options.operatorPod === undefined ? {} : { operatorPod: options.operatorPod }),
    now: () => new Date(),
  });

  return {
    identity,
    metrics,
    probeAddress: probeServer.address,
    startActing(leadership) {
      if (controller !== undefined) return;
      logger.info('starting to reconcile', { workers: options.workers });
      controller = runController({
        name: 'zookeepercluster',
        queue,
        reconcile,
        workers: options.workers,
        logger,
        metrics,
        ...(leadership === undefined
          ? {}
          : { signal: leadership.signal, assertMayAct: () => leadership.assertLeading() }),
      });
      // Everything in the cache gets one reconcile when acting starts (a new leader catches up).
      for (const cluster of informers.clusters.list())
        queue.add(objectKey(cluster.metadata?.namespace, cluster.metadata?.name ?? ''));
    },
    async stop() {
      const drainTimeoutMs = options.drainTimeoutMs ?? 30_000;
      const result = await (controller === undefined
        ? queue.shutdown({ drainTimeoutMs })
        : controller.stop({ drainTimeoutMs }));
      if (!result.drained) logger.warn('in-flight reconciles abandoned at shutdown', { keys: result.abandoned });
      await Promise.all(all.map((i) => i.stop()));
      await probeServer.close();
    },
  };
}
