/**
 * Kubernetes API clients that report every request: its HTTP method, path and status go to
 * the `rest_client_requests_total` metric and to an optional observer (tests use it to
 * assert the exact calls a reconcile made). Built like client-node's `makeApiClient`, with
 * the HTTP library wrapped.
 *
 * Every write (any method but GET, HEAD and OPTIONS) passes `beforeWrite` twice: when it is
 * handed to the HTTP stack, and again at the moment undici puts it on a connection
 * (`onRequestStart`, just before its bytes are written), since a request may wait in
 * between for a connection to open. If either check throws, the request is never sent (and
 * not counted as a request), and the call rejects with that error. The operator uses it to
 * refuse writes once it may no longer act: a process stopped (SIGSTOP) while a write waited
 * for its connection would otherwise send it on resuming, before any timer could say that
 * leadership was lost.
 *
 * All clients made from one KubeConfig share one connection pool (`PooledAuthentication`).
 */
import {
  createConfiguration,
  type HttpLibrary,
  IsomorphicFetchHttpLibrary,
  type KubeConfig,
  Observable,
  type RequestContext,
  type ResponseContext,
  type SecurityAuthentication,
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
  /** Throws to refuse a write; see the module comment. */
  beforeWrite?: (request: { method: string; path: string }) => void;
}

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

type Dispatcher = Parameters<RequestContext['setDispatcher']>[0];
/** The part of undici's dispatch handler we wrap. */
interface StartingHandler {
  onRequestStart?(controller: { abort(reason: Error): void }, context: unknown): unknown;
}

/** `dispatcher`, with `check` run right before each request starts on a connection; a throw aborts it unsent. */
function gatedDispatcher(dispatcher: Dispatcher, check: () => void): Dispatcher {
  const gate = (handler: StartingHandler): StartingHandler =>
    new Proxy(handler, {
      get(target, property, receiver) {
        if (property !== 'onRequestStart') return Reflect.get(target, property, receiver);
        return (controller: { abort(reason: Error): void }, context: unknown) => {
          try {
            check();
          } catch (refusal) {
            controller.abort(refusal as Error);
            return undefined;
          }
          return target.onRequestStart?.call(receiver, controller, context);
        };
      },
    });
  return new Proxy(dispatcher, {
    get(target, property, receiver) {
      if (property !== 'dispatch') return Reflect.get(target, property, receiver);
      return (options: unknown, handler: StartingHandler): boolean =>
        Reflect.apply(target.dispatch, target, [options, gate(handler)]);
    },
  });
}

/**
 * The kubeconfig's authentication, with one undici dispatcher (connection pool) for every
 * request. client-node 2.0.1's `KubeConfig.applySecurityAuthentication` hands each request a
 * new undici Agent, so each request opened a TLS connection of its own (a handshake, the
 * kubeconfig's certificates parsed into a new secure context, and socket buffers kept until
 * the idle connection timed out), and the operator's RSS grew with its API requests. Headers
 * (bearer tokens, which may be refreshed) are still applied to each request; the TLS settings
 * are those of the first request, as client-node's own agent cache (for WebSockets) keeps them
 * per cluster and user. The per-request Agent is dropped unused: it opens nothing until it
 * dispatches.
 */
class PooledAuthentication implements SecurityAuthentication {
  private pool: Dispatcher | undefined;

  constructor(private readonly kubeConfig: KubeConfig) {}

  getName(): string {
    return 'kubeconfig authentication, one connection pool';
  }

  async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await this.kubeConfig.applySecurityAuthentication(context);
    const perRequest = context.getDispatcher();
    if (perRequest === undefined) return;
    this.pool ??= perRequest;
    context.setDispatcher(this.pool);
  }
}

const pooledAuthentications = new WeakMap<KubeConfig, PooledAuthentication>();

/** The one `PooledAuthentication` of `kubeConfig`, so every API client made from it shares the pool. */
function pooledAuthentication(kubeConfig: KubeConfig): SecurityAuthentication {
  let authentication = pooledAuthentications.get(kubeConfig);
  if (authentication === undefined) {
    authentication = new PooledAuthentication(kubeConfig);
    pooledAuthentications.set(kubeConfig, authentication);
  }
  return authentication;
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
      authMethods: { default: pooledAuthentication(kubeConfig) },
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
    const method = request.getHttpMethod().toString();
    const path = `${url.pathname}${url.search}`;
    const report = (status: number | undefined) => {
      this.options.metrics?.recordKubeRequest(method, status);
      this.options.onRequest?.({ method, path, status });
    };
    let refusal: { error: unknown } | undefined;
    const beforeWrite = this.options.beforeWrite;
    if (beforeWrite !== undefined && !READ_METHODS.has(method)) {
      const check = () => {
        try {
          beforeWrite({ method, path });
        } catch (error) {
          refusal = { error };
          throw error;
        }
      };
      try {
        check();
      } catch (error) {
        return new Observable(Promise.reject(error));
      }
      const dispatcher = request.getDispatcher();
      if (dispatcher !== undefined) request.setDispatcher(gatedDispatcher(dispatcher, check));
    }
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
            // Refused on its connection: never sent, so not a request; the refusal is the error.
            if (refusal !== undefined) throw refusal.error;
            report(undefined);
            throw error;
          },
        ),
    );
  }
}
