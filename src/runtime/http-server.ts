/**
 * The operator's HTTP endpoints on `node:http`: `/healthz` (liveness), `/readyz`
 * (readiness) and `/metrics` (Prometheus text).
 *
 * Choice: one server on `:8081` serves all three paths. controller-runtime splits
 * probes (`:8081`) from metrics (`:8080`) so metrics can sit behind an auth
 * proxy; our metrics carry no secrets, and one port keeps the pod spec, the
 * NetworkPolicy and the ServiceMonitor simple. The bind address is configurable;
 * to split anyway, start two servers and give `metrics` to only one of them.
 *
 * Contract:
 * - `/healthz` answers 200 while the event loop runs and every liveness check
 *   passes (none by default: a stuck informer is a readiness problem, and
 *   restarting the pod would not fix the API server).
 * - `/readyz` answers 200 only when every readiness check passes, else 503; the
 *   body lists each check as `[+]name ok` or `[-]name failed: reason`, sorted by
 *   name, like the Kubernetes apiserver's verbose output. A check that throws counts as failed.
 * - `/metrics` answers the registry's text exposition.
 * - Other paths answer 404, other methods than GET/HEAD 405.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorFields, type Logger } from './logging.js';

export type CheckResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };
export type HealthCheck = () => CheckResult | Promise<CheckResult>;

/** What `/metrics` serves; `OperatorMetrics` satisfies it. */
export interface MetricsSource {
  render(): Promise<string>;
  readonly contentType: string;
}

export interface BindAddress {
  readonly host: string;
  readonly port: number;
}

export const DEFAULT_BIND_ADDRESS = ':8081';

export interface ProbeServerOptions {
  /** `host:port`, `:port` (all interfaces) or `[ipv6]:port`; port 0 picks a free one. Default `:8081`. */
  readonly bindAddress?: string;
  readonly livenessChecks?: Readonly<Record<string, HealthCheck>>;
  readonly readinessChecks?: Readonly<Record<string, HealthCheck>>;
  /** Serves `/metrics` when given; the path answers 404 otherwise. */
  readonly metrics?: MetricsSource;
  readonly logger: Logger;
}

export interface ProbeServer {
  /** The address actually bound (useful with port 0). */
  readonly address: BindAddress;
  /** Adds or replaces a readiness check, e.g. once an informer exists. */
  setReadinessCheck(name: string, check: HealthCheck): void;
  close(): Promise<void>;
}

export function parseBindAddress(value: string): BindAddress {
  const match = /^(?:\[(?<ipv6>[^\]]+)\]|(?<host>[^:]*)):(?<port>\d+)$/.exec(value);
  const port = Number(match?.groups?.port);
  if (match === null || !Number.isInteger(port) || port > 65_535) {
    throw new Error(`invalid bind address ${JSON.stringify(value)}; expected host:port, :port or [ipv6]:port`);
  }
  const host = match.groups?.ipv6 ?? match.groups?.host ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}

export async function startProbeServer(options: ProbeServerOptions): Promise<ProbeServer> {
  const bind = parseBindAddress(options.bindAddress ?? DEFAULT_BIND_ADDRESS);
  const livenessChecks = new Map(Object.entries(options.livenessChecks ?? {}));
  const readinessChecks = new Map(Object.entries(options.readinessChecks ?? {}));
  const logger = options.logger.child({ component: 'probe-server' });

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return send(response, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD' });
    }
    const path = new URL(request.url ?? '/', 'http://probe').pathname;
    switch (path) {
      case '/healthz':
        return sendCheckReport(response, 'healthz', await runChecks(livenessChecks));
      case '/readyz':
        return sendCheckReport(response, 'readyz', await runChecks(readinessChecks));
      case '/metrics':
        if (options.metrics !== undefined) {
          return send(response, 200, options.metrics.contentType, await options.metrics.render());
        }
        return send(response, 404, 'text/plain; charset=utf-8', 'not found\n');
      default:
        return send(response, 404, 'text/plain; charset=utf-8', 'not found\n');
    }
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((err: unknown) => {
      logger.error('probe request failed', { path: request.url, ...errorFields(err) });
      if (!response.headersSent) send(response, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else response.destroy();
    });
  });
  await listen(server, bind);
  const { address, port } = server.address() as AddressInfo;
  logger.info('serving /healthz, /readyz and /metrics', { address, port });

  return {
    address: { host: address, port },
    setReadinessCheck(name, check) {
      readinessChecks.set(name, check);
    },
    close: () => closeServer(server),
  };
}

interface CheckOutcome {
  readonly name: string;
  readonly result: CheckResult;
}

async function runChecks(checks: ReadonlyMap<string, HealthCheck>): Promise<CheckOutcome[]> {
  const names = [...checks.keys()].sort();
  return Promise.all(
    names.map(async (name): Promise<CheckOutcome> => {
      try {
        const check = checks.get(name);
        return { name, result: check === undefined ? { ok: true } : await check() };
      } catch (err) {
        return { name, result: { ok: false, reason: `check threw: ${String(errorFields(err).error)}` } };
      }
    }),
  );
}

function sendCheckReport(response: ServerResponse, endpoint: string, outcomes: readonly CheckOutcome[]): void {
  const failed = outcomes.some((outcome) => !outcome.result.ok);
  const lines = outcomes.map(({ name, result }) =>
    result.ok ? `[+]${name} ok` : `[-]${name} failed: ${result.reason}`,
  );
  lines.push(failed ? `${endpoint} check failed` : `${endpoint} check passed`);
  send(response, failed ? 503 : 200, 'text/plain; charset=utf-8', `${lines.join('\n')}\n`);
}

function send(
  response: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...headers,
  });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}

function listen(server: Server, bind: BindAddress): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) =>
      reject(new Error(`cannot listen on ${bind.host}:${bind.port}: ${err.message}`, { cause: err }));
    server.once('error', onError);
    server.listen(bind.port, bind.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err === undefined ? resolve() : reject(err)));
    // Probe clients keep connections alive; without this, close waits for them to time out.
    server.closeIdleConnections();
  });
}
