// Container probes, for real: exec (through the container's namespaces, see process.ts),
// tcpSocket and httpGet (from the root namespace to the pod IP over the bridge). runProbeLoop
// applies the Kubernetes timing (initialDelaySeconds, periodSeconds, timeoutSeconds) and the
// success/failure thresholds, and reports each failed attempt and each change of verdict.

import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { IntOrString, V1Container, V1Probe } from '@kubernetes/client-node';

export type ProbeOutcome = { success: true } | { success: false; message: string };

/** Where an exec probe runs: a command runner bound to the running container. */
export type ExecRunner = (command: readonly string[], timeoutSeconds: number) => Promise<ProbeOutcome>;

export interface ProbeTarget {
  podIP: string;
  container: V1Container;
  exec: ExecRunner;
}

function resolvePort(port: IntOrString, container: V1Container): number | undefined {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

function probeTcp(host: string, port: number, timeoutSeconds: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutSeconds * 1000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ success: true });
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve({ success: false, message: `dial tcp ${host}:${port}: i/o timeout` });
    });
    socket.once('error', (error) => resolve({ success: false, message: `dial tcp ${host}:${port}: ${error.message}` }));
  });
}

function probeHttp(url: URL, headers: Record<string, string>, timeoutSeconds: number): Promise<ProbeOutcome> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = request(url, { headers, timeout: timeoutSeconds * 1000, rejectUnauthorized: false }, (response) => {
      response.resume();
      const status = response.statusCode ?? 0;
      if (status >= 200 && status < 400) resolve({ success: true });
      else resolve({ success: false, message: `HTTP probe failed with statuscode: ${status}` });
    });
    req.once('timeout', () => {
      req.destroy();
      resolve({ success: false, message: `Get "${url}": context deadline exceeded` });
    });
    req.once('error', (error) => resolve({ success: false, message: `Get "${url}": ${error.message}` }));
    req.end();
  });
}

/** Runs one attempt of `probe` against the container. */
export function runProbe(probe: V1Probe, target: ProbeTarget): Promise<ProbeOutcome> {
  const timeoutSeconds = probe.timeoutSeconds ?? 1;
  if (probe.exec) return target.exec(probe.exec.command ?? [], timeoutSeconds);
  if (probe.tcpSocket) {
    const port = resolvePort(probe.tcpSocket.port, target.container);
    if (port === undefined) return Promise.resolve({ success: false, message: `unknown port ${probe.tcpSocket.port}` });
    return probeTcp(target.podIP, port, timeoutSeconds);
  }
  if (probe.httpGet) {
    const get = probe.httpGet;
    const port = resolvePort(get.port, target.container);
    if (port === undefined) return Promise.resolve({ success: false, message: `unknown port ${get.port}` });
    const scheme = (get.scheme ?? 'HTTP').toLowerCase();
    const url = new URL(`${scheme}://${target.podIP}:${port}${get.path ?? '/'}`);
    const headers = Object.fromEntries((get.httpHeaders ?? []).map((header) => [header.name, header.value]));
    return probeHttp(url, headers, timeoutSeconds);
  }
  return Promise.resolve({ success: false, message: 'probe handler not supported by the process kubelet' });
}

export interface ProbeListener {
  /** One attempt failed (a kubelet records an `Unhealthy` Event for each). */
  failedAttempt(message: string): void;
  /** successThreshold consecutive successes after anything else. */
  healthy(): void;
  /** failureThreshold consecutive failures after anything else. */
  unhealthy(message: string): void;
}

/** Waits `ms`; false when `signal` aborted the wait. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await delay(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

/** Probes until `signal` aborts (the container stopped), or until the first verdict `healthy` if `untilHealthy`. */
export async function runProbeLoop(
  probe: V1Probe,
  attempt: () => Promise<ProbeOutcome>,
  listener: ProbeListener,
  signal: AbortSignal,
  untilHealthy: boolean,
): Promise<void> {
  const successThreshold = probe.successThreshold ?? 1;
  const failureThreshold = probe.failureThreshold ?? 3;
  let successes = 0;
  let failures = 0;
  let verdict: 'none' | 'healthy' | 'unhealthy' = 'none';
  if (!(await pause((probe.initialDelaySeconds ?? 0) * 1000, signal))) return;
  while (!signal.aborted) {
    const outcome = await attempt();
    if (signal.aborted) return;
    if (outcome.success) {
      successes += 1;
      failures = 0;
      if (successes >= successThreshold && verdict !== 'healthy') {
        verdict = 'healthy';
        listener.healthy();
        if (untilHealthy) return;
      }
    } else {
      failures += 1;
      successes = 0;
      listener.failedAttempt(outcome.message);
      if (failures >= failureThreshold && verdict !== 'unhealthy') {
        verdict = 'unhealthy';
        listener.unhealthy(outcome.message);
      }
    }
    if (!(await pause((probe.periodSeconds ?? 10) * 1000, signal))) return;
  }
}
