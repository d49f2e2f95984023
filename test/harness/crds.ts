/**
 * Installs the CustomResourceDefinitions of a directory (every `*.yaml`/`*.yml`, sorted,
 * multi-document files allowed) and waits until each is Established, i.e. served.
 * The control plane does this before it starts kube-controller-manager, so the garbage
 * collector discovers the new kinds at once instead of up to 30 s later.
 * `applyCrds` does the same by server-side apply, for CRDs that several test files may install
 * into one running control plane at the same time (cert-manager's): each apply is idempotent.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ApiextensionsV1Api,
  type KubeConfig,
  loadYaml,
  PatchStrategy,
  setHeaderOptions,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { dump, loadAll } from 'js-yaml';
import { pollUntil } from './poll.js';

const ESTABLISHED_TIMEOUT_MS = 60_000;

interface CrdDocument {
  readonly file: string;
  /** The document as parsed, with the API's own field names (`x-kubernetes-*`). */
  readonly raw: { metadata?: { name?: string } };
}

/** Creates the CRDs found in `directory` and returns their names once all are Established. */
export async function installCrds(kubeConfig: KubeConfig, directory: string): Promise<string[]> {
  const documents = await readCrdFiles(directory);
  const api = kubeConfig.makeApiClient(ApiextensionsV1Api);
  const names: string[] = [];
  for (const { file, raw } of documents) {
    try {
      // client-node serializes request bodies by its models' TypeScript attribute names, so a raw
      // object would silently lose `x-kubernetes-*` schema fields; loadYaml maps them first.
      const definition = loadYaml<V1CustomResourceDefinition>(dump(raw));
      const created = await api.createCustomResourceDefinition({ body: definition });
      names.push(created.metadata?.name ?? '');
    } catch (error) {
      throw new Error(`could not create the CRD in ${file}: ${describeApiError(error)}`, { cause: error });
    }
  }
  await waitUntilEstablished(api, names);
  return names;
}

/**
 * Server-side applies the CRDs found in `directory` as `fieldManager` (forcing, so another
 * manager's fields never block it) and returns their names once all are Established. Creates
 * what is missing, updates what differs, and leaves the same content untouched.
 */
export async function applyCrds(kubeConfig: KubeConfig, directory: string, fieldManager: string): Promise<string[]> {
  const documents = await readCrdFiles(directory);
  const api = kubeConfig.makeApiClient(ApiextensionsV1Api);
  const names: string[] = [];
  for (const { file, raw } of documents) {
    const name = raw.metadata?.name;
    if (!name) throw new Error(`the CRD in ${file} has no metadata.name`);
    try {
      // A patch body is sent as given (type "any"), so the raw document keeps its field names.
      await api.patchCustomResourceDefinition(
        { name, body: raw, fieldManager, force: true },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      );
    } catch (error) {
      throw new Error(`could not apply the CRD in ${file}: ${describeApiError(error)}`, { cause: error });
    }
    names.push(name);
  }
  await waitUntilEstablished(api, names);
  return names;
}

async function waitUntilEstablished(api: ApiextensionsV1Api, names: readonly string[]): Promise<void> {
  await Promise.all(
    names.map((name) =>
      pollUntil(
        `CRD ${name} to be Established`,
        async () => {
          const crd = await api.readCustomResourceDefinition({ name });
          const established = crd.status?.conditions?.find((condition) => condition.type === 'Established');
          return established?.status === 'True' ? true : undefined;
        },
        { timeoutMs: ESTABLISHED_TIMEOUT_MS, intervalMs: 100 },
      ),
    ),
  );
}

async function readCrdFiles(directory: string): Promise<CrdDocument[]> {
  const files = (await readdir(directory)).filter((name) => /\.ya?ml$/.test(name)).sort();
  const documents: CrdDocument[] = [];
  for (const name of files) {
    const file = join(directory, name);
    for (const document of loadAll(await readFile(file, 'utf8'))) {
      if (document === null || document === undefined) continue;
      const kind = (document as { kind?: unknown }).kind;
      if (kind !== 'CustomResourceDefinition') {
        throw new Error(`${file} holds a ${String(kind)}; only CustomResourceDefinitions belong in ${directory}`);
      }
      documents.push({ file, raw: document as CrdDocument['raw'] });
    }
  }
  return documents;
}

function describeApiError(error: unknown): string {
  const { code, body } = error as { code?: number; body?: unknown };
  return code === undefined ? String(error) : `HTTP ${code}: ${String(body)}`;
}
