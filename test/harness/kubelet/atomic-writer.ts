// Projects the keys of a ConfigMap or Secret into a volume directory with the layout of the
// kubelet's AtomicWriter (pkg/volume/util/atomic_writer.go), so that tests see what a pod in a
// real cluster sees. The files live in a fresh `..<UTC timestamp>.<random>` directory; the
// symlink `..data` points at it and is replaced by rename, and each top-level name in the volume
// root is a symlink `name -> ..data/name`. A reader that opens a path gets the old set or the new
// set, never a mix; a process that keeps a file open, or watches the file it resolved, notices
// nothing, which is why applications that must see a renewal (ZooKeeper's key store does not)
// re-read or copy the files themselves. Content that did not change is not rewritten, so
// `..data` moves only on a real change. Callers serialise writes to one directory.

import {
  chmod,
  lchown,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface ProjectedFile {
  content: Buffer;
  mode: number;
}

const DATA_LINK = '..data';
const DATA_LINK_STAGING = '..data_tmp';

/** Group permissions a kubelet adds for fsGroup on a read-only volume (volume_linux.go's roMask, execMask). */
const FS_GROUP_READ = 0o440;
const FS_GROUP_SEARCH = 0o110;
const SETGID = 0o2000;

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

/** Relative paths of the regular files under `dir`, sorted. */
async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const paths: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) paths.push(...(await listFiles(join(dir, entry.name), path)));
    else paths.push(path);
  }
  return paths.sort();
}

async function sameContent(dataDir: string, files: ReadonlyMap<string, ProjectedFile>): Promise<boolean> {
  const current = await listFiles(dataDir);
  if (current.join('\n') !== [...files.keys()].sort().join('\n')) return false;
  for (const [path, file] of files) {
    if (!(await readFile(join(dataDir, path))).equals(file.content)) return false;
  }
  return true;
}

/** `..2006_01_02_15_04_05.` in UTC, the prefix AtomicWriter gives its data directories. */
function timestampPrefix(now: Date): string {
  const digits = now.toISOString().slice(0, 19).replace(/[-T:]/g, '_');
  return `..${digits}.`;
}

function topLevelNames(paths: Iterable<string>): Set<string> {
  return new Set([...paths].map((path) => path.split('/')[0] ?? path));
}

/** Gives `fsGroup` read access to everything under `dir`, as a kubelet does for a read-only volume. */
async function shareWithGroup(dir: string, fsGroup: number): Promise<void> {
  const info = await lstat(dir);
  await lchown(dir, info.uid, fsGroup);
  if (info.isSymbolicLink()) return;
  if (!info.isDirectory()) {
    await chmod(dir, (info.mode & 0o7777) | FS_GROUP_READ);
    return;
  }
  await chmod(dir, (info.mode & 0o7777) | FS_GROUP_READ | FS_GROUP_SEARCH | SETGID);
  for (const entry of await readdir(dir)) await shareWithGroup(join(dir, entry), fsGroup);
}

/**
 * Makes `dir` hold exactly `files`, swapping `..data` once. Returns false when the content was
 * already there (nothing written).
 */
export async function writeAtomically(
  dir: string,
  files: ReadonlyMap<string, ProjectedFile>,
  fsGroup: number | undefined,
): Promise<boolean> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  let oldDataDir: string | undefined;
  try {
    oldDataDir = await readlink(join(dir, DATA_LINK));
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
  const oldPaths = oldDataDir ? await listFiles(join(dir, oldDataDir)) : [];
  if (oldDataDir && (await sameContent(join(dir, oldDataDir), files))) return false;

  const dataDir = await mkdtemp(join(dir, timestampPrefix(new Date())));
  // mkdtemp makes it 0700; group and others must be able to reach the files.
  await chmod(dataDir, 0o755);
  for (const [path, file] of files) {
    const target = join(dataDir, path);
    await mkdir(dirname(target), { recursive: true, mode: 0o755 });
    await writeFile(target, file.content, { mode: file.mode });
    // writeFile's mode is filtered by the umask.
    await chmod(target, file.mode);
  }
  if (fsGroup !== undefined) {
    await shareWithGroup(dataDir, fsGroup);
    const root = await lstat(dir);
    await lchown(dir, root.uid, fsGroup);
    await chmod(dir, (root.mode & 0o7777) | FS_GROUP_READ | FS_GROUP_SEARCH | SETGID);
  }

  const staging = join(dir, DATA_LINK_STAGING);
  await rm(staging, { force: true });
  await symlink(basename(dataDir), staging);
  await rename(staging, join(dir, DATA_LINK));

  const names = topLevelNames(files.keys());
  for (const name of [...names].sort()) {
    try {
      await lstat(join(dir, name));
    } catch (error) {
      if (!isMissing(error)) throw error;
      await symlink(join(DATA_LINK, name), join(dir, name));
    }
  }
  for (const name of topLevelNames(oldPaths)) {
    if (!names.has(name)) await rm(join(dir, name), { force: true });
  }
  if (oldDataDir) await rm(join(dir, oldDataDir), { recursive: true, force: true });
  return true;
}
