/**
 * The layout of the cluster's ConfigMap, which every member mounts at /config. Pure.
 *
 * A member must start with its own revision's files, whenever it starts: a container restarted
 * in place (an OOM kill, a failed liveness probe, a node reboot) keeps its pod, and a kubelet
 * keeps that pod's ConfigMap volume current. So the files that belong to a revision (zoo.cfg and
 * the scripts) sit under keys named by their content's hash, `zoo.cfg.<hash>`, and each pod
 * template projects its own keys to the plain file names (`items`). Changing them changes the
 * template, so the roll restarts the members onto them one at a time; a member the roll has not
 * reached yet keeps starting with the files it was created with.
 * The shared keys follow the cluster's current state and every member reads them whatever its
 * revision: the committed membership (`zoo.cfg.dynamic`) and whether the ensemble still bootstraps.
 *
 * The ConfigMap holds the current revision's keys, the shared keys, and the keys of every
 * revision a live member pod still projects, copied as they are (an old spec cannot be rendered
 * again). Keys of revisions no live pod projects are dropped, so it holds at most the live
 * revisions. Keys the operator never names (added by hand) are left as they are.
 */
import type { V1KeyToPath, V1Pod } from '@kubernetes/client-node';
import { canonicalHash } from './canonical-json.js';

/** The files that belong to a revision, as a member reads them from /config. */
export const REVISION_FILES = ['logback.xml', 'probe.sh', 'start.sh', 'zoo.cfg'] as const;
export type RevisionFile = (typeof REVISION_FILES)[number];
export type RevisionFiles = Record<RevisionFile, string>;

/** The key of the dynamic `server.N` list that every member starts with. */
export const DYNAMIC_CONFIG_KEY = 'zoo.cfg.dynamic';
/** Keys every member reads under their own names, whatever its revision. */
export const SHARED_KEYS = ['bootstrap', DYNAMIC_CONFIG_KEY] as const;
export type SharedKey = (typeof SHARED_KEYS)[number];

/** `zoo.cfg.0123456789abcdef`: a revision file under its content's hash. */
const REVISION_KEY = new RegExp(
  `^(${REVISION_FILES.map((file) => file.replaceAll('.', '\\.')).join('|')})\\.[0-9a-f]{16}$`,
);

/** The hash that names a revision's files: the same content, the same keys. */
export const revisionFilesHash = (files: RevisionFiles): string => canonicalHash(files);

export const revisionKey = (file: RevisionFile, hash: string): string => `${file}.${hash}`;

/** The ConfigMap volume's items of a pod template: its revision's keys and the shared keys, under their file names. */
export function configVolumeItems(hash: string): V1KeyToPath[] {
  const items = [
    ...REVISION_FILES.map((file) => ({ key: revisionKey(file, hash), path: file })),
    ...SHARED_KEYS.map((key) => ({ key, path: key })),
  ];
  return items.sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * Whether the operator writes `key`: a shared key, a revision key, or a plain file name (the
 * layout before revision keys, which member pods created then still project).
 */
const isOperatorKey = (key: string): boolean =>
  (SHARED_KEYS as readonly string[]).includes(key) ||
  (REVISION_FILES as readonly string[]).includes(key) ||
  REVISION_KEY.test(key);

/** The keys of ConfigMap `configMapName` that a pod projects; `'all'` when its volume lists no items. */
export function projectedKeys(pod: V1Pod, configMapName: string): readonly string[] | 'all' {
  const volume = (pod.spec?.volumes ?? []).find((v) => v.configMap?.name === configMapName);
  if (volume?.configMap === undefined) return [];
  const { items } = volume.configMap;
  return items === undefined ? 'all' : items.map((item) => item.key);
}

export interface ConfigMapDataInput {
  /** The current revision's files. */
  files: RevisionFiles;
  /** The current revision's files of observers, when the cluster has them (their own start script). */
  observerFiles?: RevisionFiles | undefined;
  shared: Record<SharedKey, string>;
  /** The live ConfigMap's data; undefined before it exists. */
  live: Readonly<Record<string, string>> | undefined;
  /** The keys each live member pod projects (`projectedKeys`). */
  projected: readonly (readonly string[] | 'all')[];
}

/** The ConfigMap's data: keys sorted, so the same input gives byte-identical objects. */
export function configMapData(input: ConfigMapDataInput): Record<string, string> {
  const live = input.live ?? {};
  const kept = new Set(Object.keys(live).filter((key) => !isOperatorKey(key)));
  for (const keys of input.projected) {
    for (const key of keys === 'all' ? Object.keys(live) : keys) if (Object.hasOwn(live, key)) kept.add(key);
  }
  const data: Record<string, string> = {};
  for (const key of kept) data[key] = live[key] as string;
  for (const files of [input.files, ...(input.observerFiles === undefined ? [] : [input.observerFiles])]) {
    const hash = revisionFilesHash(files);
    for (const file of REVISION_FILES) data[revisionKey(file, hash)] = files[file];
  }
  for (const key of SHARED_KEYS) data[key] = input.shared[key];
  return Object.fromEntries(
    Object.keys(data)
      .sort()
      .map((key) => [key, data[key] as string]),
  );
}
