/**
 * The rights the operator's code needs, derived from the code, and the rights the chart grants:
 * shared by test/unit/packaging/operator-rights.test.ts (the two are equal) and
 * test/integration/operator-rights.test.ts (what the running operator did is among them).
 *
 * How the needs are derived:
 * - every Kubernetes API call goes through a client-node API class the operator constructs (a
 *   unit test fails on a class this module does not know), and every method of those classes
 *   named in src/ is a call; the method name says the verb, the kind and the subresource
 *   (`patchNamespacedCustomObjectStatus`);
 * - a patch whose arguments carry `applyOptions()` is a server-side apply, which also creates;
 * - informers (the only users of `Watch`) list and watch what `watched-resources.ts` lists;
 * - an owner reference with blockOwnerDeletion needs `update` on the owner's finalizers (the
 *   OwnerReferencesPermissionEnforcement admission plugin).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1PolicyRule } from '@kubernetes/client-node';
import * as k8s from '@kubernetes/client-node';
import { load } from 'js-yaml';
import { API_GROUP, PLURAL } from '../../src/api/constants.js';
import { CERT_MANAGER_GROUP, CERTIFICATE_PLURAL } from '../../src/render/cert-manager.js';
import { ownerReference } from '../../src/render/cluster.js';
import { repoPath } from '../harness/repo.js';
import { aCluster } from './builders.js';

/** The API classes the operator may construct, and the API group each serves. */
export const API_CLASSES: Readonly<Record<string, string>> = {
  CoreV1Api: '',
  AppsV1Api: 'apps',
  PolicyV1Api: 'policy',
  NetworkingV1Api: 'networking.k8s.io',
  CoordinationV1Api: 'coordination.k8s.io',
  CustomObjectsApi: API_GROUP,
};

const VERBS: Readonly<Record<string, string>> = {
  read: 'get',
  // The custom objects client says get where the typed ones say read.
  get: 'get',
  list: 'list',
  create: 'create',
  patch: 'patch',
  replace: 'update',
  delete: 'delete',
  deleteCollection: 'deletecollection',
};

/** A needed or granted permission, `group/resource[/subresource] verb`. */
export type Right = string;
export const right = (group: string, resource: string, verb: string): Right => `${group || 'core'}/${resource} ${verb}`;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

/** The code without comments (a method named in a comment is no call). */
const code = (file: string) =>
  readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:])\/\/[^\n]*/g, '$1');

export const SOURCES = Object.fromEntries(sourceFiles(repoPath('src')).map((file) => [file, code(file)]));
export const WATCHED_RESOURCES = repoPath('src/runtime/watched-resources.ts');

/** API method name → the constructed classes that have it. */
function apiMethods(): Map<string, string[]> {
  const methods = new Map<string, string[]>();
  for (const className of Object.keys(API_CLASSES)) {
    const api = (k8s as unknown as Record<string, { prototype: object }>)[className];
    if (api === undefined) throw new Error(`client-node has no ${className}`);
    for (const method of Object.getOwnPropertyNames(api.prototype)) {
      if (method === 'constructor' || method.endsWith('WithHttpInfo')) continue;
      methods.set(method, [...(methods.get(method) ?? []), className]);
    }
  }
  return methods;
}

/** `patchNamespacedCustomObjectStatus` → verb, resource and subresource. */
function parseMethod(method: string, className: string): { verb: string; group: string; resource: string } {
  const match =
    /^(read|get|list|create|patch|replace|deleteCollection|delete)(Namespaced|Cluster)?([A-Z][A-Za-z]*?)(ForAllNamespaces)?$/.exec(
      method,
    );
  if (!match?.[1] || !match[3]) throw new Error(`cannot read the verb and kind of ${className}.${method}`);
  const verb = VERBS[match[1]] as string;
  let kind = match[3];
  let subresource = '';
  for (const suffix of ['Status', 'Scale', 'Ephemeralcontainers', 'Eviction', 'Binding']) {
    if (kind.endsWith(suffix) && kind !== suffix) {
      kind = kind.slice(0, -suffix.length);
      subresource = `/${suffix.toLowerCase()}`;
    }
  }
  const plural =
    kind === 'CustomObject'
      ? PLURAL
      : kind.toLowerCase().endsWith('y')
        ? `${kind.toLowerCase().slice(0, -1)}ies`
        : `${kind.toLowerCase()}s`;
  return { verb, group: API_CLASSES[className] as string, resource: `${plural}${subresource}` };
}

export interface Need {
  right: Right;
  where: string;
}

/** Every right a call in src/ needs, with where the call is. */
export function neededRights(): Need[] {
  const methods = apiMethods();
  const needs: Need[] = [];
  for (const [file, text] of Object.entries(SOURCES)) {
    const where = file.slice(repoPath('').length);
    for (const call of text.matchAll(/\.([A-Za-z]+)\(([^;]*)/g)) {
      const method = call[1] as string;
      const classes = methods.get(method);
      if (classes === undefined) continue;
      if (classes.length > 1) throw new Error(`${where}: ${method} belongs to ${classes.join(' and ')}; say which`);
      const parsed = parseMethod(method, classes[0] as string);
      // The custom objects client also reaches cert-manager's Certificates: the call names their plural.
      const { verb, group, resource } = (call[2] ?? '').includes('CERTIFICATE_PLURAL')
        ? { ...parsed, group: CERT_MANAGER_GROUP, resource: CERTIFICATE_PLURAL }
        : parsed;
      needs.push({ right: right(group, resource, verb), where: `${where} ${method}` });
      const isApply = verb === 'patch' && !resource.includes('/') && (call[2] ?? '').includes('applyOptions()');
      if (isApply) needs.push({ right: right(group, resource, 'create'), where: `${where} ${method} (apply creates)` });
      if (verb === 'list' && file === WATCHED_RESOURCES) {
        needs.push({ right: right(group, resource, 'watch'), where: `${where} ${method} (the informer watches)` });
      }
    }
  }
  if (ownerReference(aCluster()).blockOwnerDeletion === true) {
    needs.push({
      right: right(API_GROUP, `${PLURAL}/finalizers`, 'update'),
      where: 'src/render/cluster.ts ownerReference (blockOwnerDeletion)',
    });
  }
  return needs;
}

export function grantedRights(file: string): Right[] {
  const rules = load(readFileSync(repoPath(`helm/zookeeper-operator/files/${file}`), 'utf8')) as V1PolicyRule[];
  return rules.flatMap((rule) =>
    (rule.apiGroups ?? []).flatMap((group) =>
      (rule.resources ?? []).flatMap((resource) => rule.verbs.map((verb) => right(group, resource, verb))),
    ),
  );
}

export const isLease = (need: Right) => need.startsWith('coordination.k8s.io/leases ');
export const sorted = (rights: Iterable<Right>) => [...new Set(rights)].sort();
