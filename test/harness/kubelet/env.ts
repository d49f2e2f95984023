// A container's environment as a kubelet computes it: `envFrom`, then `env` (later wins), with
// `$(VAR)` references expanded against the variables defined before, and values from ConfigMaps,
// Secrets and the pod's own fields. A value that cannot be resolved is a configuration error
// (CreateContainerConfigError), never silently empty.
import type { V1ConfigMap, V1Container, V1Pod, V1Secret } from '@kubernetes/client-node';

export interface EnvSources {
  configMap(namespace: string, name: string): Promise<V1ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<V1Secret | undefined>;
}

export interface PodAddresses {
  podIP: string;
  hostIP: string;
}

/** The container cannot be created as specified; the message says which reference failed. */
export class ContainerConfigError extends Error {}

/** Expands `$(NAME)` from `env` and turns `$$` into `$`, like Kubernetes; unknown names stay as written. */
export function expandReferences(value: string, env: Readonly<Record<string, string>>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (name === undefined) return '$';
    return env[name] ?? match;
  });
}

function fieldValue(pod: V1Pod, addresses: PodAddresses, fieldPath: string): string {
  const keyed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (keyed) {
    const map = keyed[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations;
    return map?.[keyed[2] ?? ''] ?? '';
  }
  const values: Record<string, string | undefined> = {
    'metadata.name': pod.metadata?.name,
    'metadata.namespace': pod.metadata?.namespace,
    'metadata.uid': pod.metadata?.uid,
    'spec.nodeName': pod.spec?.nodeName,
    'spec.serviceAccountName': pod.spec?.serviceAccountName,
    'status.podIP': addresses.podIP,
    'status.podIPs': addresses.podIP,
    'status.hostIP': addresses.hostIP,
    'status.hostIPs': addresses.hostIP,
  };
  if (!(fieldPath in values)) throw new ContainerConfigError(`fieldRef ${fieldPath} is not supported`);
  return values[fieldPath] ?? '';
}

function decodeSecret(secret: V1Secret, key: string): string | undefined {
  const encoded = secret.data?.[key];
  if (encoded !== undefined) return Buffer.from(encoded, 'base64').toString('utf8');
  return secret.stringData?.[key];
}

function secretEntries(secret: V1Secret): Record<string, string> {
  const keys = [...Object.keys(secret.data ?? {}), ...Object.keys(secret.stringData ?? {})];
  return Object.fromEntries(keys.map((key) => [key, decodeSecret(secret, key) ?? '']));
}

export async function resolveContainerEnv(
  pod: V1Pod,
  container: V1Container,
  addresses: PodAddresses,
  sources: EnvSources,
): Promise<Record<string, string>> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) {
      const configMap = await sources.configMap(namespace, from.configMapRef.name ?? '');
      if (!configMap && !from.configMapRef.optional) {
        throw new ContainerConfigError(`configmap "${from.configMapRef.name}" not found`);
      }
      for (const [key, value] of Object.entries(configMap?.data ?? {})) env[`${prefix}${key}`] = value;
    }
    if (from.secretRef) {
      const secret = await sources.secret(namespace, from.secretRef.name ?? '');
      if (!secret && !from.secretRef.optional)
        throw new ContainerConfigError(`secret "${from.secretRef.name}" not found`);
      for (const [key, value] of Object.entries(secret ? secretEntries(secret) : {})) env[`${prefix}${key}`] = value;
    }
  }
  for (const variable of container.env ?? []) {
    const from = variable.valueFrom;
    if (!from) {
      env[variable.name] = expandReferences(variable.value ?? '', env);
    } else if (from.fieldRef) {
      env[variable.name] = fieldValue(pod, addresses, from.fieldRef.fieldPath);
    } else if (from.configMapKeyRef) {
      const ref = from.configMapKeyRef;
      const value = (await sources.configMap(namespace, ref.name ?? ''))?.data?.[ref.key];
      if (value === undefined && !ref.optional) {
        throw new ContainerConfigError(`env ${variable.name}: key "${ref.key}" of configmap "${ref.name}" not found`);
      }
      if (value !== undefined) env[variable.name] = value;
    } else if (from.secretKeyRef) {
      const ref = from.secretKeyRef;
      const secret = await sources.secret(namespace, ref.name ?? '');
      const value = secret ? decodeSecret(secret, ref.key) : undefined;
      if (value === undefined && !ref.optional) {
        throw new ContainerConfigError(`env ${variable.name}: key "${ref.key}" of secret "${ref.name}" not found`);
      }
      if (value !== undefined) env[variable.name] = value;
    } else {
      throw new ContainerConfigError(`env ${variable.name}: this valueFrom is not supported by the process kubelet`);
    }
  }
  return env;
}
