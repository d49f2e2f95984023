// The process kubelet's Kubernetes API access: typed clients, merge patches (client-node sends
// JSON patch unless told otherwise) and reading the reason out of an ApiException.
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  type KubeConfig,
  PatchStrategy,
  StorageV1Api,
  setHeaderOptions,
} from '@kubernetes/client-node';

export interface KubeClients {
  kubeConfig: KubeConfig;
  core: CoreV1Api;
  coordination: CoordinationV1Api;
  storage: StorageV1Api;
}

export function makeClients(kubeConfig: KubeConfig): KubeClients {
  return {
    kubeConfig,
    core: kubeConfig.makeApiClient(CoreV1Api),
    coordination: kubeConfig.makeApiClient(CoordinationV1Api),
    storage: kubeConfig.makeApiClient(StorageV1Api),
  };
}

/** Request options for a JSON merge patch (RFC 7386). */
export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Request options for a strategic merge patch (lists with a merge key, like pod conditions, merge by key). */
export const strategicMergePatch = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

/** The HTTP status of an API error, or undefined for anything else (network errors, bugs). */
export function apiStatus(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

/** A one-line description of an API error: status and the server's message. */
export function describeApiError(error: unknown): string {
  if (error instanceof ApiException) {
    try {
      const status = JSON.parse(String(error.body)) as { reason?: string; message?: string };
      return `${error.code} ${status.reason ?? ''}: ${status.message ?? ''}`;
    } catch {
      return `${error.code}: ${String(error.body)}`;
    }
  }
  return error instanceof Error ? error.message : String(error);
}
