// Local persistent volumes: for every unbound PersistentVolumeClaim (as the StatefulSet controller
// creates from volumeClaimTemplates) the kubelet creates a hostPath PersistentVolume under its work
// dir, pre-bound to the claim, which kube-controller-manager's binder then binds. The directory
// outlives pods; it is removed, with the volume, when the claim is deleted. All of the kubelet's
// nodes share this machine, so the volume's node affinity names every one of them: like network
// storage, a volume never keeps the scheduler from placing its pod where the pod's own
// constraints say.
//
// A bound claim whose request grows is grown as a CSI driver would (external-resizer, then the
// kubelet's file-system resize). A host directory has no size of its own, so what moves is the
// volume's capacity and the claim's status. By default the file system grows online
// (status.capacity follows at once); a StorageClass with the parameter `expansion: offline`
// grows it only when a pod mounts the volume again: the claim shows FileSystemResizePending
// until then, as with drivers that cannot grow a mounted file system.

import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { V1PersistentVolume, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { parseQuantity } from '../../../src/api/defaults.js';
import { apiStatus, describeApiError, type KubeClients, mergePatch } from './kube.js';
import type { Logger } from './log.js';
import { VolumeNotReadyError } from './volumes.js';

const PROVISIONER = 'process-kubelet';
/** Marks the volumes of one kubelet (value: its name), so it grows and releases only its own. */
const KUBELET_LABEL = 'process-kubelet.zookeeper-operator/kubelet';

export class LocalVolumeProvisioner {
  constructor(
    private readonly clients: KubeClients,
    private readonly kubeletName: string,
    private readonly nodeNames: readonly string[],
    private readonly volumesDir: string,
    private readonly claims: (namespace: string, name: string) => V1PersistentVolumeClaim | undefined,
    private readonly logger: Logger,
  ) {}

  private volumeName(claim: V1PersistentVolumeClaim): string {
    return `pvc-${claim.metadata?.uid}`;
  }

  /** Creates the volume of an unbound claim (idempotent). */
  async provision(claim: V1PersistentVolumeClaim): Promise<void> {
    if (claim.spec?.volumeName || claim.metadata?.deletionTimestamp || claim.spec?.selector || claim.spec?.dataSource) {
      return;
    }
    const name = this.volumeName(claim);
    const path = join(this.volumesDir, name);
    await mkdir(path, { recursive: true, mode: 0o755 });
    const body: V1PersistentVolume = {
      metadata: {
        name,
        labels: { [KUBELET_LABEL]: this.kubeletName },
        annotations: { 'pv.kubernetes.io/provisioned-by': PROVISIONER },
      },
      spec: {
        capacity: { storage: claim.spec?.resources?.requests?.storage ?? '1Gi' },
        accessModes: claim.spec?.accessModes ?? ['ReadWriteOnce'],
        volumeMode: claim.spec?.volumeMode ?? 'Filesystem',
        storageClassName: claim.spec?.storageClassName ?? '',
        persistentVolumeReclaimPolicy: 'Retain',
        hostPath: { path, type: 'Directory' },
        claimRef: {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          namespace: claim.metadata?.namespace ?? 'default',
          name: claim.metadata?.name ?? '',
          uid: claim.metadata?.uid ?? '',
        },
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [...this.nodeNames] }] },
            ],
          },
        },
      },
    };
    try {
      await this.clients.core.createPersistentVolume({ body });
      this.logger.info('provisioned volume', {
        volume: name,
        claim: `${claim.metadata?.namespace}/${claim.metadata?.name}`,
      });
    } catch (error) {
      if (apiStatus(error) !== 409) {
        throw new Error(
          `creating volume ${name} for claim ${claim.metadata?.namespace}/${claim.metadata?.name}: ${describeApiError(error)}`,
        );
      }
    }
  }

  /** Grows the volume of a bound claim whose request exceeds its capacity (idempotent). */
  async grow(claim: V1PersistentVolumeClaim): Promise<void> {
    const volumeName = claim.spec?.volumeName;
    const requested = claim.spec?.resources?.requests?.storage;
    const capacity = claim.status?.capacity?.storage;
    if (!volumeName || claim.status?.phase !== 'Bound' || !requested || !capacity) return;
    if (parseQuantity(requested) <= parseQuantity(capacity) || fileSystemResizePending(claim)) return;
    const namespace = claim.metadata?.namespace ?? 'default';
    const name = claim.metadata?.name ?? '';
    let offline = false;
    try {
      const volume = await this.clients.core.readPersistentVolume({ name: volumeName });
      if (volume.metadata?.labels?.[KUBELET_LABEL] !== this.kubeletName) return;
      const className = claim.spec?.storageClassName;
      if (className) {
        const storageClass = await this.clients.storage.readStorageClass({ name: className });
        offline = storageClass.parameters?.expansion === 'offline';
      }
      await this.clients.core.patchPersistentVolume(
        { name: volumeName, body: { spec: { capacity: { storage: requested } } } },
        mergePatch,
      );
      const status = offline
        ? {
            conditions: [
              {
                type: 'FileSystemResizePending',
                status: 'True',
                lastTransitionTime: new Date().toISOString(),
                message: 'Waiting for user to (re-)start a pod to finish file system resize of volume on node.',
              },
            ],
          }
        : { capacity: { storage: requested } };
      await this.clients.core.patchNamespacedPersistentVolumeClaimStatus(
        { namespace, name, body: { status } },
        mergePatch,
      );
    } catch (error) {
      throw new Error(
        `growing volume ${volumeName} of claim ${namespace}/${name} to ${requested}: ${describeApiError(error)}`,
      );
    }
    this.logger.info(offline ? 'grew volume; file system grows at the next mount' : 'grew volume', {
      volume: volumeName,
      claim: `${namespace}/${name}`,
      from: capacity,
      to: requested,
    });
  }

  /** A pod mounts the claim: a file-system resize that waited for this finishes now. */
  private async finishFileSystemResize(claim: V1PersistentVolumeClaim): Promise<void> {
    if (!fileSystemResizePending(claim)) return;
    const namespace = claim.metadata?.namespace ?? 'default';
    const name = claim.metadata?.name ?? '';
    const requested = claim.spec?.resources?.requests?.storage;
    try {
      await this.clients.core.patchNamespacedPersistentVolumeClaimStatus(
        { namespace, name, body: { status: { capacity: { storage: requested }, conditions: null } } },
        mergePatch,
      );
    } catch (error) {
      throw new Error(`finishing the file-system resize of claim ${namespace}/${name}: ${describeApiError(error)}`);
    }
    this.logger.info('grew file system at mount', { claim: `${namespace}/${name}`, to: requested });
  }

  /** Deletes the volume and directory of a claim that is gone. */
  async release(claim: V1PersistentVolumeClaim): Promise<void> {
    const name = this.volumeName(claim);
    try {
      const volume = await this.clients.core.readPersistentVolume({ name });
      if (volume.metadata?.labels?.[KUBELET_LABEL] !== this.kubeletName) return;
      await this.clients.core.deletePersistentVolume({ name });
    } catch (error) {
      if (apiStatus(error) !== 404) throw new Error(`deleting volume ${name}: ${describeApiError(error)}`);
    }
    await rm(join(this.volumesDir, name), { recursive: true, force: true });
    this.logger.info('released volume', {
      volume: name,
      claim: `${claim.metadata?.namespace}/${claim.metadata?.name}`,
    });
  }

  /** The directory of a bound claim's volume; VolumeNotReadyError until the claim is bound. */
  async claimDirectory(namespace: string, claimName: string): Promise<string> {
    const claim = this.claims(namespace, claimName);
    if (!claim) throw new VolumeNotReadyError(`persistentvolumeclaim "${claimName}" not found`);
    const volumeName = claim.spec?.volumeName;
    if (claim.status?.phase !== 'Bound' || !volumeName) {
      throw new VolumeNotReadyError(`persistentvolumeclaim "${claimName}" is not bound yet (${claim.status?.phase})`);
    }
    const volume = await this.clients.core.readPersistentVolume({ name: volumeName });
    const path = volume.spec?.hostPath?.path ?? volume.spec?.local?.path;
    if (!path) throw new VolumeNotReadyError(`volume ${volumeName} of claim "${claimName}" has no local path`);
    await this.finishFileSystemResize(claim);
    await mkdir(path, { recursive: true });
    return path;
  }
}

function fileSystemResizePending(claim: V1PersistentVolumeClaim): boolean {
  return (claim.status?.conditions ?? []).some((c) => c.type === 'FileSystemResizePending' && c.status === 'True');
}
