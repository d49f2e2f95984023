// One pod on one of the kubelet's nodes, from binding (by kube-scheduler) to deletion. Each
// worker is one pod incarnation (one UID): its own network namespace and address, fresh
// emptyDirs, its containers, and the pod status it publishes. A pod with a deletionTimestamp is
// stopped (SIGTERM, grace period, SIGKILL), its network torn down, and its object deleted with
// grace period 0, as a kubelet does.

import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { PodApiAccess } from './api-access.js';
import { ContainerRunner } from './container.js';
import type { EnvSources } from './env.js';
import type { EventRecorder, EventType } from './events.js';
import {
  netnsHostsPath,
  type PodAddress,
  renderHosts,
  renderResolvConf,
  writeInPlace,
  writeNetnsFiles,
} from './hosts.js';
import { type ImageStore, isLocalOperatorImage, type ZooKeeperVersions, zookeeperImageTag } from './images.js';
import { apiStatus, describeApiError, type KubeClients, strategicMergePatch } from './kube.js';
import type { Logger } from './log.js';
import { createPodNetwork, deletePodNetwork, type PodAddressPool, type PodSubnet } from './network.js';
import type { ProcessUser } from './process.js';
import { apiTime, buildPodStatus, type ContainerStatus, type PodCondition, waitingContainerStatus } from './status.js';
import { type ObjectVolumeKind, PodVolumes, VolumeNotReadyError, type VolumeSources } from './volumes.js';

/** Everything a pod worker shares with the kubelet. */
export interface NodeResources {
  clients: KubeClients;
  /** The InternalIP of every node of this kubelet (the bridge address). */
  hostIP: string;
  bridge: string;
  subnet: PodSubnet;
  addresses: PodAddressPool;
  nextNetnsName(): string;
  podsDir: string;
  logsDir: string;
  images: ImageStore;
  versions: ZooKeeperVersions;
  envSources: EnvSources;
  volumeSources: VolumeSources;
  events: EventRecorder;
  logger: Logger;
  /** Pods of `namespace` with a subdomain and an address, for the hosts file. */
  peers(namespace: string): PodAddress[];
  /** A pod of `namespace` got or lost an address: refresh the namespace's hosts files. */
  addressChanged(namespace: string): void;
}

const UNSUPPORTED = 'UnsupportedByProcessKubelet';

/** Why the process kubelet cannot run `pod`, or undefined when it can. */
export function unsupportedReason(pod: V1Pod): string | undefined {
  if ((pod.spec?.initContainers ?? []).length > 0) return 'the process kubelet does not run init containers';
  const other = (pod.spec?.containers ?? []).find(
    (c) => zookeeperImageTag(c.image ?? '') === undefined && !isLocalOperatorImage(c.image ?? ''),
  );
  if (other) {
    return `the process kubelet runs only ZooKeeper images (zookeeper:<tag>) and the local operator image (zookeeper-operator:<tag>); container ${other.name} has image ${other.image}`;
  }
  return undefined;
}

function processUser(pod: V1Pod, container: V1Container): ProcessUser | undefined {
  const podContext = pod.spec?.securityContext;
  const uid = container.securityContext?.runAsUser ?? podContext?.runAsUser;
  if (uid === undefined || uid === 0) return undefined;
  const gid = container.securityContext?.runAsGroup ?? podContext?.runAsGroup ?? 0;
  const groups = [podContext?.fsGroup, ...(podContext?.supplementalGroups ?? [])].filter(
    (group): group is number => group !== undefined,
  );
  return { uid, gid, groups: [...new Set(groups)].sort((a, b) => a - b) };
}

/** How a pod incarnation ends. */
interface Termination {
  /** Delete the API object afterwards (the pod was deleted gracefully), as a kubelet does. */
  deleteObject: boolean;
  /** Remove the pod's namespace, veth and files now; false when the kubelet removes all at once. */
  removeNetwork: boolean;
  /** Overrides the pod's grace period. */
  graceSeconds?: number;
}

export class PodWorker {
  private pod: V1Pod;
  private netns: string | undefined;
  address: string | undefined;
  private volumes: PodVolumes | undefined;
  /** Token and API relay, for pods that run the operator. */
  private apiAccess: PodApiAccess | undefined;
  private runners: ContainerRunner[] = [];
  private waitingContainers: ContainerStatus[];
  private conditions: PodCondition[] = [];
  private readonly startTime = apiTime(new Date());
  private setup: Promise<void> | undefined;
  private termination: Promise<void> | undefined;
  private terminating = false;
  private publishedStatus = '';
  private publishPending = false;
  private publishing: Promise<void> | undefined;
  private hostsWrites: Promise<void> = Promise.resolve();
  /** Set once /etc/netns/<netns>/hosts exists; refreshes only rewrite an existing file. */
  private hostsFile: string | undefined;

  constructor(
    pod: V1Pod,
    private readonly node: NodeResources,
  ) {
    this.pod = pod;
    this.waitingContainers = this.containersWaiting('ContainerCreating');
  }

  get uid(): string {
    return this.pod.metadata?.uid ?? '';
  }

  get namespace(): string {
    return this.pod.metadata?.namespace ?? 'default';
  }

  private get key(): string {
    return `${this.namespace}/${this.pod.metadata?.name}`;
  }

  private get hostname(): string {
    return this.pod.spec?.hostname ?? this.pod.metadata?.name ?? '';
  }

  private event(type: EventType, reason: string, message: string): void {
    void this.node.events.record(this.pod, type, reason, message);
  }

  /** A newer version of the pod object arrived. */
  update(pod: V1Pod): void {
    this.pod = pod;
    if (pod.metadata?.deletionTimestamp) {
      this.terminate({ deleteObject: true, removeNetwork: true }).catch((error: unknown) =>
        this.node.logger.error('pod termination failed', { pod: this.key, error: String(error) }),
      );
    } else if (!this.setup) {
      this.setup = this.start().catch((error: unknown) => this.failStart(error));
    }
  }

  /** The pod object is gone from the API (force-deleted): stop its containers, nothing to delete. */
  gone(): Promise<void> {
    return this.terminate({ deleteObject: false, removeNetwork: true });
  }

  /**
   * The kubelet stops: kill the containers quickly and leave the API object and the network. The
   * kubelet removes every pod's network at once right after (releaseInstance), which with
   * hundreds of pods takes a fraction of a second instead of several `ip` runs per pod.
   */
  shutdown(): Promise<void> {
    return this.terminate({ deleteObject: false, removeNetwork: false, graceSeconds: 5 });
  }

  private containersWaiting(reason: string, message?: string): ContainerStatus[] {
    return (this.pod.spec?.containers ?? []).map((container) => waitingContainerStatus(container, reason, message));
  }

  private failStart(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.node.logger.error('pod start failed', { pod: this.key, error: message });
    this.event('Warning', 'FailedCreatePodSandBox', message);
    this.waitingContainers = this.containersWaiting('CreateContainerError', message);
    this.schedulePublish();
  }

  private async start(): Promise<void> {
    this.schedulePublish();
    const unsupported = unsupportedReason(this.pod);
    if (unsupported) {
      this.waitingContainers = this.containersWaiting(UNSUPPORTED, unsupported);
      this.event('Warning', UNSUPPORTED, unsupported);
      this.schedulePublish();
      return;
    }
    const netns = this.node.nextNetnsName();
    const address = this.node.addresses.allocate();
    this.netns = netns;
    this.address = address;
    await createPodNetwork(this.node.bridge, this.node.subnet, netns, address);
    await writeNetnsFiles(netns, this.renderHosts(), renderResolvConf(this.namespace));
    this.hostsFile = netnsHostsPath(netns);
    this.node.logger.info('pod network ready', { pod: this.key, netns, ip: address });
    this.node.addressChanged(this.namespace);
    this.schedulePublish();

    const incarnationDir = join(this.node.podsDir, netns);
    const volumes = await this.prepareVolumes(join(incarnationDir, 'volumes'));
    if (!volumes || this.terminating) return;
    this.volumes = volumes;
    const logsDir = join(this.node.logsDir, `${this.namespace}_${this.pod.metadata?.name}_${this.uid}`);
    await mkdir(logsDir, { recursive: true });
    const talksToKubernetes = (this.pod.spec?.containers ?? []).some((c) => isLocalOperatorImage(c.image ?? ''));
    if (talksToKubernetes) {
      this.apiAccess = await PodApiAccess.open({
        clients: this.node.clients,
        pod: this.pod,
        netns,
        dir: incarnationDir,
        logger: this.node.logger,
      });
      if (this.terminating) return;
    }
    for (const container of this.pod.spec?.containers ?? []) {
      const runner = new ContainerRunner(container, {
        pod: () => this.pod,
        netns,
        hostname: this.hostname,
        podIP: address,
        hostIP: this.node.hostIP,
        user: processUser(this.pod, container),
        volumes,
        logsDir,
        images: this.node.images,
        versions: this.node.versions,
        envSources: this.node.envSources,
        apiAccess: this.apiAccess,
        event: (type, reason, message) => this.event(type, reason, message),
        onChange: () => this.schedulePublish(),
        logger: this.node.logger,
      });
      this.runners.push(runner);
      runner.start();
    }
  }

  /** Retries every second until every volume is ready or the pod is deleted. */
  private async prepareVolumes(volumesDir: string): Promise<PodVolumes | undefined> {
    while (!this.terminating) {
      try {
        return await PodVolumes.prepare(this.pod, volumesDir, this.node.volumeSources);
      } catch (error) {
        // Not ready yet (unbound claim, missing ConfigMap) or a passing API error: retry, as a kubelet does.
        if (!(error instanceof VolumeNotReadyError)) {
          this.node.logger.warn('volume setup failed', { pod: this.key, error: String(error) });
        }
        this.event('Warning', 'FailedMount', `MountVolume.SetUp failed: ${(error as Error).message}`);
        await delay(1000);
      }
    }
    return undefined;
  }

  private renderHosts(): string {
    const self: PodAddress = {
      ip: this.address ?? '',
      hostname: this.hostname,
      namespace: this.namespace,
      ...(this.pod.spec?.subdomain ? { subdomain: this.pod.spec.subdomain } : {}),
    };
    return renderHosts(self, this.node.peers(this.namespace));
  }

  /** Rewrites the pod's hosts file from the current peers (serialised, always with the latest view). */
  refreshHosts(): Promise<void> {
    this.hostsWrites = this.hostsWrites.then(async () => {
      if (!this.hostsFile || this.terminating) return;
      await writeInPlace(this.hostsFile, this.renderHosts()).catch((error: unknown) =>
        this.node.logger.warn('hosts file not updated', { pod: this.key, error: String(error) }),
      );
    });
    return this.hostsWrites;
  }

  /** The ConfigMap or Secret `name` changed: rewrite the volumes projecting it. */
  async refreshObjectVolumes(kind: ObjectVolumeKind, name: string): Promise<void> {
    await this.volumes?.refresh(kind, name, this.node.volumeSources);
  }

  private terminate(how: Termination): Promise<void> {
    this.termination ??= this.stopEverything(how);
    return this.termination;
  }

  private async stopEverything({ deleteObject, removeNetwork, graceSeconds }: Termination): Promise<void> {
    this.terminating = true;
    await this.setup;
    const grace =
      graceSeconds ??
      this.pod.metadata?.deletionGracePeriodSeconds ??
      this.pod.spec?.terminationGracePeriodSeconds ??
      30;
    for (const runner of this.runners) this.event('Normal', 'Killing', `Stopping container ${runner.status.name}`);
    await Promise.all(this.runners.map((runner) => runner.stop(grace)));
    this.apiAccess?.close();
    await this.publishing;
    try {
      if (this.netns && removeNetwork) {
        await deletePodNetwork(this.netns);
        await rm(join(this.node.podsDir, this.netns), { recursive: true, force: true });
      }
    } catch (error) {
      // The processes are dead; a namespace or link that would not go is removed when the
      // kubelet stops (releaseInstance), and must not keep the pod object alive.
      this.node.logger.error('pod network teardown failed', { pod: this.key, netns: this.netns, error: String(error) });
    }
    if (this.address) this.node.addresses.release(this.address);
    this.address = undefined;
    this.node.addressChanged(this.namespace);
    this.node.logger.info('pod stopped', { pod: this.key, netns: this.netns });
    if (deleteObject) await this.deleteObject();
    this.node.events.forget(this.uid);
  }

  private async deleteObject(): Promise<void> {
    try {
      await this.node.clients.core.deleteNamespacedPod({
        name: this.pod.metadata?.name ?? '',
        namespace: this.namespace,
        body: { gracePeriodSeconds: 0, preconditions: { uid: this.uid } },
      });
    } catch (error) {
      // 404: already gone; 409: the name now belongs to a newer pod, this one is gone.
      if (apiStatus(error) !== 404 && apiStatus(error) !== 409) {
        this.node.logger.error('deleting pod failed', { pod: this.key, error: describeApiError(error) });
      }
    }
  }

  private schedulePublish(): void {
    this.publishPending = true;
    this.publishing ??= this.publishLoop().finally(() => {
      this.publishing = undefined;
    });
  }

  private async publishLoop(): Promise<void> {
    while (this.publishPending && !this.termination) {
      this.publishPending = false;
      await this.publish();
    }
  }

  private async publish(): Promise<void> {
    const containers = this.runners.length > 0 ? this.runners.map((runner) => runner.status) : this.waitingContainers;
    const status = buildPodStatus({
      pod: this.pod,
      hostIP: this.node.hostIP,
      podIP: this.address,
      startTime: this.startTime,
      containers,
      previousConditions: this.conditions,
      now: apiTime(new Date()),
    });
    const serialized = JSON.stringify(status);
    if (serialized === this.publishedStatus) return;
    try {
      await this.node.clients.core.patchNamespacedPodStatus(
        {
          name: this.pod.metadata?.name ?? '',
          namespace: this.namespace,
          body: { metadata: { uid: this.uid }, status },
        },
        strategicMergePatch,
      );
      this.conditions = status.conditions;
      this.publishedStatus = serialized;
    } catch (error) {
      const code = apiStatus(error);
      if (code === 404 || code === 409 || code === 422) return;
      this.node.logger.warn('publishing pod status failed; retrying', {
        pod: this.key,
        error: describeApiError(error),
      });
      await delay(1000);
      this.publishPending = true;
    }
  }
}
