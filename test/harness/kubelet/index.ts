// The process kubelet: test infrastructure that makes pods real without Docker. One instance
// registers three Nodes (one per zone, see node.ts) and keeps each Ready with its
// own Lease; kube-scheduler places pods on them, and the kubelet runs the pods bound to any of
// its nodes. It provisions local volumes for claims and runs the ZooKeeper containers of its
// pods as processes, each pod in its own network and UTS namespace on one private bridge shared
// by all its nodes (see network.ts, pod.ts), so pods on different nodes reach each other as in
// a cluster. Pods it is not bound to (Pending, or on another kubelet's node) it leaves alone.
// Wiring only: informers in, pod workers and the volume provisioner out.
//
// Names: instance id = 6 random hex digits; nodes `process-kubelet-<id>-a`, `-b`, ... (every
// node's InternalIP is the bridge address); bridge `pkl-<id>` holding `10.<128+n>.<m>.1/24`
// (derived from the id, inside 10.128.0.0/10, refused if anything on the machine overlaps);
// per pod incarnation a netns and host-side veth `pkl-<id>-<counter>`; /etc/netns/<netns>/;
// /run/process-kubelet/pkl-<id>.json. Work dir: `pods/<netns>/volumes/<volume>` (emptyDir,
// ConfigMap, Secret), `volumes/pvc-<claim uid>` (persistent), `images/zookeeper-<version>`, and
// `logs/kubelet.log` + `logs/<namespace>_<pod>_<uid>/<container>/<restart>.log`, which stop()
// keeps for post-mortems (everything else it removes).

import { chmod, mkdir, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import {
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  makeInformer,
  type ObjectCache,
  type V1ConfigMap,
  type V1PersistentVolumeClaim,
  type V1Pod,
  type V1Secret,
} from '@kubernetes/client-node';
import { onShutdown } from '../shutdown.js';
import type { EnvSources } from './env.js';
import { EventRecorder } from './events.js';
import type { PodAddress } from './hosts.js';
import { ImageStore, readZooKeeperVersions } from './images.js';
import { claimInstance, type KubeletInstance, releaseInstance, releaseInstanceNow } from './instance.js';
import { apiStatus, describeApiError, type KubeClients, makeClients } from './kube.js';
import { createKubeletLogger, type Logger } from './log.js';
import { createBridge, PodAddressPool } from './network.js';
import { DEFAULT_NODE_COUNT, NodeHeartbeat, type NodeIdentity, nodeIdentities } from './node.js';
import { type NodeResources, PodWorker } from './pod.js';
import { LocalVolumeProvisioner } from './storage.js';
import type { ObjectVolumeKind, VolumeSources } from './volumes.js';

export interface KubeletOptions {
  kubeConfig: KubeConfig;
  /** Pod volumes, local persistent volumes, copied ZooKeeper distributions and logs go here. */
  workDir: string;
  /** Where the ZooKeeper distributions are built; default `${ZKOP_CACHE_DIR:-$HOME/.cache/zookeeper-operator}`. */
  cacheDir?: string;
}

export interface Kubelet {
  /** The registered Nodes, in zone order (`zone-a`, `zone-b`, ...). */
  nodeNames: readonly string[];
  /** Kills every pod process, removes every namespace, link and pod file; the API objects stay. */
  stop(): Promise<void>;
}

type Cached<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

/** A non-root pod user must be able to reach its volumes: every ancestor of `workDir` needs o+x. */
async function prepareWorkDir(workDir: string): Promise<void> {
  await mkdir(workDir, { recursive: true });
  await chmod(workDir, 0o711);
  for (let dir = dirname(workDir); dir !== dirname(dir); dir = dirname(dir)) {
    if (((await stat(dir)).mode & 0o001) === 0) {
      throw new Error(
        `work dir ${workDir}: ancestor ${dir} is not searchable by other users, so pods running as non-root could not reach their volumes`,
      );
    }
  }
}

function startInformer<T extends KubernetesObject>(
  informer: Cached<T>,
  what: string,
  logger: Logger,
  isStopped: () => boolean,
): Promise<void> {
  informer.on('error', (error: unknown) => {
    if (isStopped()) return;
    logger.warn(`${what} informer stopped; restarting in 1 s`, { error: describeApiError(error) });
    setTimeout(() => {
      // A failed restart emits 'error' again, which schedules the next attempt.
      if (!isStopped()) informer.start().catch(() => undefined);
    }, 1000);
  });
  return informer.start();
}

class ProcessKubelet {
  private readonly workers = new Map<string, PodWorker>();
  private readonly pods: Cached<V1Pod>;
  private readonly configMaps: Cached<V1ConfigMap>;
  private readonly secrets: Cached<V1Secret>;
  private readonly claims: Cached<V1PersistentVolumeClaim>;
  private readonly provisioner: LocalVolumeProvisioner;
  private readonly heartbeats: NodeHeartbeat[];
  private readonly nodeNames: ReadonlySet<string>;
  private readonly resources: NodeResources;
  private stopped = false;
  private netnsCounter = 0;

  constructor(
    private readonly instance: KubeletInstance,
    clients: KubeClients,
    private readonly name: string,
    nodes: readonly NodeIdentity[],
    private readonly workDir: string,
    cacheDir: string,
    versions: Awaited<ReturnType<typeof readZooKeeperVersions>>,
    private readonly logger: Logger,
  ) {
    const core = clients.core;
    this.pods = makeInformer<V1Pod>(clients.kubeConfig, '/api/v1/pods', () => core.listPodForAllNamespaces());
    this.configMaps = makeInformer<V1ConfigMap>(clients.kubeConfig, '/api/v1/configmaps', () =>
      core.listConfigMapForAllNamespaces(),
    );
    // Like a real kubelet, which may read the Secrets of its pods: the kubelet's credentials are
    // the control plane's admin (system:masters), so listing every Secret is allowed.
    this.secrets = makeInformer<V1Secret>(clients.kubeConfig, '/api/v1/secrets', () =>
      core.listSecretForAllNamespaces(),
    );
    this.claims = makeInformer<V1PersistentVolumeClaim>(clients.kubeConfig, '/api/v1/persistentvolumeclaims', () =>
      core.listPersistentVolumeClaimForAllNamespaces(),
    );
    this.nodeNames = new Set(nodes.map((node) => node.name));
    this.provisioner = new LocalVolumeProvisioner(
      clients,
      name,
      nodes.map((node) => node.name),
      join(workDir, 'volumes'),
      (namespace, claimName) => this.claims.get(claimName, namespace),
      logger,
    );
    this.heartbeats = nodes.map((node) => new NodeHeartbeat(clients, node, instance.subnet.gateway, logger));
    const envSources: EnvSources = {
      configMap: async (namespace, name) => this.configMaps.get(name, namespace),
      secret: async (namespace, name) => {
        try {
          return await core.readNamespacedSecret({ name, namespace });
        } catch (error) {
          if (apiStatus(error) === 404) return undefined;
          throw new Error(`reading secret ${namespace}/${name}: ${describeApiError(error)}`);
        }
      },
    };
    // Volumes read the informer cache, as they are refreshed from its events; a Secret the cache
    // has not seen yet makes the volume wait (VolumeNotReadyError) and retry.
    const volumeSources: VolumeSources = {
      configMap: envSources.configMap,
      secret: async (namespace, name) => this.secrets.get(name, namespace),
      claimDirectory: (namespace, claimName) => this.provisioner.claimDirectory(namespace, claimName),
    };
    this.resources = {
      clients,
      hostIP: instance.subnet.gateway,
      bridge: instance.prefix,
      subnet: instance.subnet,
      addresses: new PodAddressPool(instance.subnet),
      nextNetnsName: () => `${instance.prefix}-${(this.netnsCounter++).toString(36)}`,
      podsDir: join(workDir, 'pods'),
      logsDir: join(workDir, 'logs'),
      images: new ImageStore(cacheDir, join(workDir, 'images')),
      versions,
      envSources,
      volumeSources,
      events: new EventRecorder(core, logger),
      logger,
      peers: (namespace) => this.peers(namespace),
      addressChanged: (namespace) => this.refreshHosts(namespace),
    };
  }

  async start(): Promise<void> {
    await createBridge(this.instance.prefix, this.instance.subnet);
    for (const heartbeat of this.heartbeats) {
      await heartbeat.register();
      heartbeat.start();
    }
    this.claims.on('add', (claim) => this.provision(claim));
    this.claims.on('update', (claim) => {
      this.provision(claim);
      this.provisioner.grow(claim).catch((error: unknown) => this.logger.error(String(error)));
    });
    this.claims.on('delete', (claim) => {
      this.provisioner.release(claim).catch((error: unknown) => this.logger.error(String(error)));
    });
    this.configMaps.on('add', (configMap) => this.objectChanged('configMap', configMap));
    this.configMaps.on('update', (configMap) => this.objectChanged('configMap', configMap));
    this.secrets.on('add', (secret) => this.objectChanged('secret', secret));
    this.secrets.on('update', (secret) => this.objectChanged('secret', secret));
    this.pods.on('add', (pod) => this.podChanged(pod));
    this.pods.on('update', (pod) => this.podChanged(pod));
    this.pods.on('delete', (pod) => this.podDeleted(pod));
    const isStopped = () => this.stopped;
    await startInformer(this.claims, 'persistentvolumeclaim', this.logger, isStopped);
    await startInformer(this.configMaps, 'configmap', this.logger, isStopped);
    await startInformer(this.secrets, 'secret', this.logger, isStopped);
    await startInformer(this.pods, 'pod', this.logger, isStopped);
    this.logger.info('process kubelet started', {
      nodes: [...this.nodeNames],
      bridge: this.instance.prefix,
      subnet: this.instance.subnet.cidr,
    });
  }

  private provision(claim: V1PersistentVolumeClaim): void {
    this.provisioner.provision(claim).catch((error: unknown) => this.logger.error(String(error)));
  }

  private objectChanged(kind: ObjectVolumeKind, object: KubernetesObject): void {
    const name = object.metadata?.name ?? '';
    for (const worker of this.workers.values()) {
      if (worker.namespace !== object.metadata?.namespace) continue;
      worker
        .refreshObjectVolumes(kind, name)
        .catch((error: unknown) =>
          this.logger.warn(`${kind} volume not refreshed`, { [kind]: name, pod: worker.uid, error: String(error) }),
        );
    }
  }

  /** Runs the pods bound to one of this kubelet's nodes; the scheduler binds them, never the kubelet. */
  private podChanged(pod: V1Pod): void {
    if (this.runsOnOwnNode(pod)) {
      const uid = pod.metadata?.uid ?? '';
      let worker = this.workers.get(uid);
      if (!worker) {
        worker = new PodWorker(pod, this.resources);
        this.workers.set(uid, worker);
      }
      worker.update(pod);
    }
    this.refreshHosts(pod.metadata?.namespace ?? 'default');
  }

  private podDeleted(pod: V1Pod): void {
    const uid = pod.metadata?.uid ?? '';
    const worker = this.workers.get(uid);
    if (worker) {
      worker
        .gone()
        .catch((error: unknown) => this.logger.error('pod termination failed', { uid, error: String(error) }))
        .finally(() => this.workers.delete(uid));
    }
    this.refreshHosts(pod.metadata?.namespace ?? 'default');
  }

  private runsOnOwnNode(pod: V1Pod): boolean {
    return this.nodeNames.has(pod.spec?.nodeName ?? '');
  }

  private peers(namespace: string): PodAddress[] {
    const peers: PodAddress[] = [];
    for (const pod of this.pods.list(namespace)) {
      const subdomain = pod.spec?.subdomain;
      if (!subdomain || pod.metadata?.deletionTimestamp) continue;
      if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
      const worker = this.workers.get(pod.metadata?.uid ?? '');
      const ip = worker ? worker.address : this.runsOnOwnNode(pod) ? undefined : pod.status?.podIP;
      if (!ip) continue;
      peers.push({ ip, subdomain, namespace, hostname: pod.spec?.hostname ?? pod.metadata?.name ?? '' });
    }
    return peers;
  }

  private refreshHosts(namespace: string): void {
    for (const worker of this.workers.values()) {
      if (worker.namespace === namespace) void worker.refreshHosts();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const heartbeat of this.heartbeats) heartbeat.stop();
    for (const informer of [this.pods, this.configMaps, this.secrets, this.claims]) await informer.stop();
    try {
      await Promise.all([...this.workers.values()].map((worker) => worker.shutdown()));
      // If this throws, its record stays for the next sweep; the files below go regardless.
      await releaseInstance(this.instance);
    } finally {
      try {
        for (const dir of ['pods', 'volumes', 'images']) {
          await rm(join(this.workDir, dir), { recursive: true, force: true });
        }
        this.logger.info('process kubelet stopped', { kubelet: this.name });
      } finally {
        await new Promise<void>((done) => {
          this.logger.on('finish', () => done());
          this.logger.end();
        });
      }
    }
  }
}

/**
 * Starts a kubelet instance. What killed runs left is not swept here: the caller sweeps first
 * (leftovers.ts `sweepLeftoversBeforeStart`, as environment.ts does), once for everything it starts.
 */
export async function startKubelet(options: KubeletOptions): Promise<Kubelet> {
  const workDir = resolve(options.workDir);
  const cacheDir = options.cacheDir ?? process.env.ZKOP_CACHE_DIR ?? join(homedir(), '.cache', 'zookeeper-operator');
  await prepareWorkDir(workDir);
  const versions = await readZooKeeperVersions();
  const instance = await claimInstance();
  const name = `process-kubelet-${instance.id}`;
  const nodes = nodeIdentities(name, DEFAULT_NODE_COUNT);
  await mkdir(join(workDir, 'logs'), { recursive: true });
  const logger = createKubeletLogger(join(workDir, 'logs', 'kubelet.log'), name);
  const kubelet = new ProcessKubelet(
    instance,
    makeClients(options.kubeConfig),
    name,
    nodes,
    workDir,
    cacheDir,
    versions,
    logger,
  );
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await kubelet.stop();
      // Only now: a process that exits while stop() runs still kills the pods (stopNow).
      unregister();
    })();
    return stopping;
  };
  // A test process that ends without stop() must not leave ZooKeeper processes behind.
  const unregister = onShutdown({
    name: `process kubelet ${name}`,
    stop,
    stopNow: () => releaseInstanceNow(instance),
  });
  try {
    await kubelet.start();
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodeNames: nodes.map((node) => node.name), stop };
}
