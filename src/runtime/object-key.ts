/**
 * Object keys: the `namespace/name` strings the work queue carries and a
 * reconciler receives (controller-runtime's `NamespacedName`). Cluster-scoped
 * objects have the key `name`.
 *
 * Contract: `parseObjectKey(objectKey(ns, name))` gives back `{ namespace: ns, name }`;
 * a malformed key is an error, never silently a wrong object.
 */

export interface ObjectRef {
  /** Undefined for cluster-scoped objects. */
  readonly namespace: string | undefined;
  readonly name: string;
}

export function objectKey(namespace: string | undefined, name: string): string {
  return namespace === undefined || namespace === '' ? name : `${namespace}/${name}`;
}

export function parseObjectKey(key: string): ObjectRef {
  const parts = key.split('/');
  const [first, second] = parts;
  if (parts.length === 1 && first !== undefined && first !== '') return { namespace: undefined, name: first };
  if (parts.length === 2 && first !== undefined && first !== '' && second !== undefined && second !== '') {
    return { namespace: first, name: second };
  }
  throw new Error(`invalid object key ${JSON.stringify(key)}; expected "namespace/name" or "name"`);
}
