// "Images" for the process kubelet: a container image `zookeeper:<tag>` (any registry/path ending
// in `/zookeeper`) stands for a ZooKeeper distribution from the test cache. The tag picks the
// version among ZOOKEEPER_VERSIONS in test/controlplane/versions.env. Pulling copies the
// distribution under the kubelet's work dir, where a pod's non-root user can read it.
// `zookeeper-operator:<tag>` without a registry (what `make image` builds) stands for this
// checkout's operator: its entrypoint runs src/main.ts on the project's Node 24.
import { access, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand } from './command.js';

const VERSIONS_FILE = fileURLToPath(new URL('../../controlplane/versions.env', import.meta.url));

export interface ZooKeeperVersions {
  available: string[];
  default: string;
}

export async function readZooKeeperVersions(): Promise<ZooKeeperVersions> {
  const text = await readFile(VERSIONS_FILE, 'utf8');
  const value = (key: string): string => {
    const match = new RegExp(`^${key}=(.*)$`, 'm').exec(text);
    if (!match?.[1]) throw new Error(`${VERSIONS_FILE} has no ${key}`);
    return match[1].trim();
  };
  return { available: value('ZOOKEEPER_VERSIONS').split(','), default: value('ZOOKEEPER_DEFAULT_VERSION') };
}

/** The tag of a ZooKeeper image reference, or undefined when the image is not ZooKeeper. */
export function zookeeperImageTag(image: string): string | undefined {
  const withoutDigest = image.split('@')[0] ?? '';
  const lastSlash = withoutDigest.lastIndexOf('/');
  const nameAndTag = withoutDigest.slice(lastSlash + 1);
  const [name, tag = 'latest'] = nameAndTag.split(':');
  return name === 'zookeeper' ? tag : undefined;
}

/** Whether `image` is the locally built operator image, `zookeeper-operator[:tag]`. */
export function isLocalOperatorImage(image: string): boolean {
  const withoutDigest = image.split('@')[0] ?? '';
  return !withoutDigest.includes('/') && withoutDigest.split(':')[0] === 'zookeeper-operator';
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

/** `latest` → the default; `3.9`, `3.9.4`, `3.9.4-jre-17` → the newest available version they name. */
export function versionForTag(tag: string, versions: ZooKeeperVersions): string | undefined {
  if (tag === 'latest') return versions.default;
  const match = /^(\d+\.\d+(?:\.\d+)?)(?:-jre-\d+)?$/.exec(tag);
  if (!match?.[1]) return undefined;
  const wanted = match[1];
  return versions.available
    .filter((version) => version === wanted || version.startsWith(`${wanted}.`))
    .sort(compareVersions)
    .at(-1);
}

/** Copies distributions from the cache into `imagesDir` once per kubelet; returns the copy's directory. */
export class ImageStore {
  private readonly pulls = new Map<string, Promise<string>>();

  constructor(
    private readonly cacheDir: string,
    private readonly imagesDir: string,
  ) {}

  pull(version: string): Promise<string> {
    let pulling = this.pulls.get(version);
    if (!pulling) {
      pulling = this.copyDistribution(version);
      pulling.catch(() => this.pulls.delete(version));
      this.pulls.set(version, pulling);
    }
    return pulling;
  }

  private async copyDistribution(version: string): Promise<string> {
    const source = join(this.cacheDir, `zookeeper-${version}`);
    try {
      await access(join(source, 'bin', 'zkServer.sh'));
    } catch {
      throw new Error(`ZooKeeper ${version} is not built yet: ${source}/bin/zkServer.sh is missing`);
    }
    const target = join(this.imagesDir, `zookeeper-${version}`);
    await mkdir(this.imagesDir, { recursive: true, mode: 0o755 });
    await rm(target, { recursive: true, force: true });
    await runCommand('cp', ['-a', source, target]);
    await runCommand('chmod', ['-R', 'a+rX', target]);
    return target;
  }
}
