// A pod incarnation's volumes as host directories, and the mapping from container paths to them.
// emptyDir: a fresh directory per incarnation. configMap/secret: the keys in the AtomicWriter
// layout (atomic-writer.ts: `..data` swapped on a change, `key -> ..data/key`), rewritten when
// the ConfigMap or Secret changes, with fsGroup given read access as a kubelet does.
// persistentVolumeClaim: the bound volume's directory, which outlives the pod. Like a kubelet,
// `fsGroup` becomes the group owner (setgid, group-writable) of writable volumes; without one, a
// pod-level runAsUser owns them, so a non-root pod can always write. A container path
// `/mount/rest` maps to `<volume dir>/rest` (longest mountPath wins).

import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { V1ConfigMap, V1Container, V1KeyToPath, V1Pod, V1Secret, V1Volume } from '@kubernetes/client-node';
import { type ProjectedFile, writeAtomically } from './atomic-writer.js';
import { runCommand } from './command.js';

export interface VolumeSources {
  configMap(namespace: string, name: string): Promise<V1ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<V1Secret | undefined>;
  /** The host directory of a claim's bound volume; throws VolumeNotReadyError while it is not bound. */
  claimDirectory(namespace: string, claimName: string): Promise<string>;
}

/** A volume cannot be set up yet (missing ConfigMap, unbound claim); the pod waits and retries. */
export class VolumeNotReadyError extends Error {}

export interface Mount {
  mountPath: string;
  hostPath: string;
}

/** The kind of API object a volume projects. */
export type ObjectVolumeKind = 'configMap' | 'secret';

/** The API default for configMap and secret volumes. */
const DEFAULT_MODE = 0o644;

/** The files a volume projects: every key, or only `items` (each with its own path and mode). */
function projectedFiles(
  entries: Record<string, Buffer>,
  items: readonly V1KeyToPath[] | undefined,
  defaultMode: number,
): Map<string, ProjectedFile> {
  const files = new Map<string, ProjectedFile>();
  if (!items) {
    for (const key of Object.keys(entries).sort()) {
      files.set(key, { content: entries[key] ?? Buffer.alloc(0), mode: defaultMode });
    }
    return files;
  }
  for (const item of items) {
    const content = entries[item.key];
    if (content) files.set(item.path, { content, mode: item.mode ?? defaultMode });
  }
  return files;
}

function configMapEntries(configMap: V1ConfigMap): Record<string, Buffer> {
  return {
    ...Object.fromEntries(Object.entries(configMap.data ?? {}).map(([key, value]) => [key, Buffer.from(value)])),
    ...Object.fromEntries(
      Object.entries(configMap.binaryData ?? {}).map(([key, encoded]) => [key, Buffer.from(encoded, 'base64')]),
    ),
  };
}

/** Secret values stay bytes: a key store or DER file is not UTF-8. */
function secretEntries(secret: V1Secret): Record<string, Buffer> {
  return Object.fromEntries(
    Object.entries(secret.data ?? {}).map(([key, encoded]) => [key, Buffer.from(encoded, 'base64')]),
  );
}

/** Who owns a pod's writable volumes: its fsGroup (as a group), else its runAsUser. */
type VolumeOwner = { fsGroup: number } | { uid: number; gid: number } | undefined;

function volumeOwner(pod: V1Pod): VolumeOwner {
  const context = pod.spec?.securityContext;
  if (context?.fsGroup !== undefined) return { fsGroup: context.fsGroup };
  if (context?.runAsUser) return { uid: context.runAsUser, gid: context.runAsGroup ?? 0 };
  return undefined;
}

async function applyOwner(dir: string, owner: VolumeOwner): Promise<void> {
  if (!owner) return;
  if ('fsGroup' in owner) {
    await runCommand('chown', ['-R', `:${owner.fsGroup}`, dir]);
    await runCommand('chmod', ['-R', 'g+rwX', dir]);
    await runCommand('chmod', ['g+s', dir]);
  } else {
    await runCommand('chown', ['-R', `${owner.uid}:${owner.gid}`, dir]);
  }
}

export class PodVolumes {
  /** Refreshes of object volumes, one at a time: two overlapping `..data` swaps would lose one. */
  private refreshes: Promise<void> = Promise.resolve();

  private constructor(
    private readonly pod: V1Pod,
    private readonly directories: ReadonlyMap<string, string>,
  ) {}

  /** Materialises every volume of `pod` under `volumesDir`; throws VolumeNotReadyError to be retried. */
  static async prepare(pod: V1Pod, volumesDir: string, sources: VolumeSources): Promise<PodVolumes> {
    const namespace = pod.metadata?.namespace ?? 'default';
    const owner = volumeOwner(pod);
    const directories = new Map<string, string>();
    for (const volume of pod.spec?.volumes ?? []) {
      const dir = join(volumesDir, volume.name);
      if (volume.emptyDir) {
        await mkdir(dir, { recursive: true });
        await chmod(dir, 0o777);
        await applyOwner(dir, owner);
      } else if (volume.configMap || volume.secret) {
        await PodVolumes.writeObjectVolume(pod, volume, dir, sources);
      } else if (volume.persistentVolumeClaim) {
        const claimDir = await sources.claimDirectory(namespace, volume.persistentVolumeClaim.claimName);
        await applyOwner(claimDir, owner);
        directories.set(volume.name, claimDir);
        continue;
      } else {
        const kind = Object.keys(volume).find((key) => key !== 'name') ?? 'unknown';
        throw new VolumeNotReadyError(
          `volume "${volume.name}": ${kind} volumes are not supported by the process kubelet`,
        );
      }
      directories.set(volume.name, dir);
    }
    return new PodVolumes(pod, directories);
  }

  private static async writeObjectVolume(
    pod: V1Pod,
    volume: V1Volume,
    dir: string,
    sources: VolumeSources,
  ): Promise<void> {
    const namespace = pod.metadata?.namespace ?? 'default';
    const fsGroup = pod.spec?.securityContext?.fsGroup;
    if (volume.configMap) {
      const source = volume.configMap;
      const configMap = await sources.configMap(namespace, source.name ?? '');
      if (!configMap && !source.optional) throw new VolumeNotReadyError(`configmap "${source.name}" not found`);
      const entries = configMap ? configMapEntries(configMap) : {};
      const files = projectedFiles(entries, source.items, source.defaultMode ?? DEFAULT_MODE);
      await writeAtomically(dir, files, fsGroup);
    } else if (volume.secret) {
      const source = volume.secret;
      const secret = await sources.secret(namespace, source.secretName ?? '');
      if (!secret && !source.optional) throw new VolumeNotReadyError(`secret "${source.secretName}" not found`);
      const entries = secret ? secretEntries(secret) : {};
      const files = projectedFiles(entries, source.items, source.defaultMode ?? DEFAULT_MODE);
      await writeAtomically(dir, files, fsGroup);
    }
  }

  /** Rewrites the volumes that project the ConfigMap or Secret `name` (called on its informer events). */
  refresh(kind: ObjectVolumeKind, name: string, sources: VolumeSources): Promise<void> {
    const projects = (volume: V1Volume): boolean =>
      kind === 'configMap' ? volume.configMap?.name === name : volume.secret?.secretName === name;
    const refresh = this.refreshes.then(async () => {
      for (const volume of this.pod.spec?.volumes ?? []) {
        const dir = this.directories.get(volume.name);
        if (dir && projects(volume)) await PodVolumes.writeObjectVolume(this.pod, volume, dir, sources);
      }
    });
    // The caller hears of a failure; the next refresh still runs.
    this.refreshes = refresh.catch(() => undefined);
    return refresh;
  }

  /** The container's mounts as host directories, longest mountPath first. */
  mountsOf(container: V1Container): Mount[] {
    return (container.volumeMounts ?? [])
      .map((mount) => {
        const volumeDir = this.directories.get(mount.name);
        if (!volumeDir) throw new Error(`container ${container.name} mounts unknown volume ${mount.name}`);
        return { mountPath: mount.mountPath, hostPath: mount.subPath ? join(volumeDir, mount.subPath) : volumeDir };
      })
      .sort((a, b) => b.mountPath.length - a.mountPath.length || a.mountPath.localeCompare(b.mountPath));
  }
}

/** Rewrites a value that starts with a container mountPath to the host directory of that volume. */
export function mapContainerPath(value: string, mounts: readonly Mount[]): string {
  for (const mount of mounts) {
    const mountPath = mount.mountPath.replace(/\/+$/, '');
    if (value === mountPath || value.startsWith(`${mountPath}/`)) {
      return `${mount.hostPath}${value.slice(mountPath.length)}`;
    }
  }
  return value;
}
