/**
 * Kubernetes API clients that report every request: its HTTP method, path and status go to
 * the `rest_client_requests_total` metric and to an optional observer (tests use it to
 * assert the exact calls a reconcile made). Built like client-node's `makeApiClient`, with
 * the HTTP library wrapped.
 */
import {
  createConfiguration,
  type HttpLibrary,
  IsomorphicFetchHttpLibrary,
  type KubeConfig,
  Observable,
  type RequestContext,
  type ResponseContext,
  ServerConfiguration,
} from '@kubernetes/client-node';
import { OPERATOR_NAME } from '../api/constants.js';
import type { OperatorMetrics } from './metrics.js';

export interface ApiRequest {
  method: string;
  /** URL path and query, e.g. `/apis/apps/v1/namespaces/zk/statefulsets/example?fieldManager=…`. */
  path: string;
  /** HTTP status, or undefined when no response arrived. */
  status: number | undefined;
}

export interface ApiClientOptions {
  metrics?: OperatorMetrics;
  onRequest?: (request: ApiRequest) => void;
}

type ApiConstructor<T> = new (config: ReturnType<typeof createConfiguration>) => T;

/** Like `kubeConfig.makeApiClient(type)`, with request reporting. */
export function makeObservedApiClient<T>(
  kubeConfig: KubeConfig,
  type: ApiConstructor<T>,
  options: ApiClientOptions,
): T {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster: set a current context');
  return new type(
    createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: kubeConfig },
      httpApi: new ReportingHttpLibrary(options),
    }),
  );
}

class ReportingHttpLibrary implements HttpLibrary {
  private readonly inner = new IsomorphicFetchHttpLibrary();

  constructor(private readonly options: ApiClientOptions) {}

  send(request: RequestContext): Observable<ResponseContext> {
    request.setHeaderParam('User-Agent', OPERATOR_NAME);
    const url = new URL(request.getUrl());
    const report = (status: number | undefined) => {
      const method = request.getHttpMethod().toString();
      this.options.metrics?.recordKubeRequest(method, status);
      this.options.onRequest?.({ method, path: `${url.pathname}${url.search}`, status });
    };
    return new Observable(
      this.inner
        .send(request)
        .toPromise()
        .then(
          (response) => {
            report(response.httpStatusCode);
            return response;
          },
          (error: unknown) => {
            report(undefined);
            throw error;
          },
        ),
    );
  }
}
