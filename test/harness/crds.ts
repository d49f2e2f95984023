/**
 * Installs the CustomResourceDefinitions of a directory (every `*.yaml`/`*.yml`, sorted,
 * multi-document files allowed) and waits until each is Established, i.e. served.
 * The control plane does this before it starts kube-controller-manager, so the garbage
 * collector discovers the new kinds at once instead of up to 30 s later.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ApiextensionsV1Api,
  type KubeConfig,
  loadYaml,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { dump, loadAll } from 'js-yaml';
import { pollUntil } from './poll.js';

const ESTABLISHED_TIMEOUT_MS = 60_000;

/** Creates the CRDs found in `directory` and returns their names once all are Established. */
export async function installCrds(kubeConfig: KubeConfig, directory: string): Promise<string[]> {
  const definitions = await readCrdFiles(directory);
  const api = kubeConfig.makeApiClient(ApiextensionsV1Api);
  const names: string[] = [];
  for (const { file, definition } of definitions) {
    try {
      const created = await api.createCustomResourceDefinition({ body: definition });
      names.push(created.metadata?.name ?? '');
    } catch (error) {
      throw new Error(`could not create the CRD in ${file}: ${describeApiError(error)}`, { cause: error });
    }
  }
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
  return names;
}

async function readCrdFiles(
  directory: string,
): Promise<Array<{ file: string; definition: V1CustomResourceDefinition }>> {
  const files = (await readdir(directory)).filter((name) => /\.ya?ml$/.test(name)).sort();
  const definitions: Array<{ file: string; definition: V1CustomResourceDefinition }> = [];
  for (const name of files) {
    const file = join(directory, name);
    for (const document of loadAll(await readFile(file, 'utf8'))) {
      if (document === null || document === undefined) continue;
      const kind = (document as { kind?: unknown }).kind;
      if (kind !== 'CustomResourceDefinition') {
        throw new Error(`${file} holds a ${String(kind)}; only CustomResourceDefinitions belong in ${directory}`);
      }
      // client-node serializes request bodies by its models' TypeScript attribute names, so a raw
      // object would silently lose `x-kubernetes-*` schema fields; loadYaml maps them first.
      definitions.push({ file, definition: loadYaml<V1CustomResourceDefinition>(dump(document)) });
    }
  }
  return definitions;
}

function describeApiError(error: unknown): string {
  const { code, body } = error as { code?: number; body?: unknown };
  return code === undefined ? String(error) : `HTTP ${code}: ${String(body)}`;
}
