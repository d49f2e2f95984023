// A pod incarnation's volumes as host directories, and the mapping from container paths to them.
// emptyDir: a fresh directory per incarnation. configMap/secret: the keys as files, rewritten when
// the ConfigMap changes. persistentVolumeClaim: the bound volume's directory, which outlives the
// pod. Like a kubelet, `fsGroup` becomes the group owner (setgid, group-writable) of writable
// volumes; without one, a pod-level runAsUser owns them, so a non-root pod can always write. A container path `/mount/rest` maps to `<volume dir>/rest` (longest mountPath wins).

import { chmod, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { V1ConfigMap, V1Container, V1KeyToPath, V1Pod, V1Secret, V1Volume } from '@kubernetes/client-node';
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

function keyFiles(entries: Record<string, string>, items: readonly V1KeyToPath[] | undefined): Map<string, string> {
  const files = new Map<string, string>();
  if (!items) {
    for (const key of Object.keys(entries).sort()) files.set(key, entries[key] ?? '');
    return files;
  }
  for (const item of items) {
    if (item.key in entries) files.set(item.path, entries[item.key] ?? '');
  }
  return files;
}

function secretEntries(secret: V1Secret): Record<string, string> {
  return Object.fromEntries(
    Object.entries(secret.data ?? {}).map(([key, encoded]) => [key, Buffer.from(encoded, 'base64').toString('utf8')]),
  );
}

/** Writes `files` into `dir` (each atomically) and removes files it no longer lists. */
async function writeKeyFiles(dir: string, files: Map<string, string>, mode: number): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  for (const [path, content] of files) {
    const target = join(dir, path);
    await mkdir(join(target, '..'), { recursive: true, mode: 0o755 });
    const staging = `${target}.updating`;
    await writeFile(staging, content, { mode });
    await chmod(staging, mode);
    await rename(staging, target);
  }
  for (const entry of await readdir(dir)) {
    if (!files.has(entry) && ![...files.keys()].some((path) => path.startsWith(`${entry}/`))) {
      await rm(join(dir, entry), { recursive: true, force: true });
    }
  }
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
        await PodVolumes.writeObjectVolume(volume, dir, namespace, sources);
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
    volume: V1Volume,
    dir: string,
    namespace: string,
    sources: VolumeSources,
  ): Promise<void> {
    if (volume.configMap) {
      const source = volume.configMap;
      const configMap = await sources.configMap(namespace, source.name ?? '');
      if (!configMap && !source.optional) throw new VolumeNotReadyError(`configmap "${source.name}" not found`);
      const entries = { ...(configMap?.data ?? {}) };
      await writeKeyFiles(dir, keyFiles(entries, source.items), source.defaultMode ?? 0o644);
    } else if (volume.secret) {
      const source = volume.secret;
      const secret = await sources.secret(namespace, source.secretName ?? '');
      if (!secret && !source.optional) throw new VolumeNotReadyError(`secret "${source.secretName}" not found`);
      const entries = secret ? secretEntries(secret) : {};
      await writeKeyFiles(dir, keyFiles(entries, source.items), source.defaultMode ?? 0o644);
    }
  }

  /** Rewrites the volumes that project ConfigMap `name` (called on ConfigMap events). */
  async refreshConfigMap(name: string, sources: VolumeSources): Promise<void> {
    const namespace = this.pod.metadata?.namespace ?? 'default';
    for (const volume of this.pod.spec?.volumes ?? []) {
      const dir = this.directories.get(volume.name);
      if (dir && volume.configMap?.name === name) await PodVolumes.writeObjectVolume(volume, dir, namespace, sources);
    }
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
