/**
 * One-shot HTTP(S) GETs for readiness probes of the processes the harness starts. Node's
 * global fetch cannot present a client certificate, so this uses node:http(s) directly.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface ProbeResponse {
  readonly status: number;
  readonly body: string;
}

export interface ClientTls {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** GETs `url` (with `tls` for https), giving up after `timeoutMs`. */
export function probe(url: string, tls?: ClientTls, timeoutMs = 5_000): Promise<ProbeResponse> {
  return new Promise((resolve, reject) => {
    const options = { timeout: timeoutMs, ...(tls === undefined ? {} : { ...tls }) };
    const request = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, options, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    request.on('error', reject);
    request.end();
  });
}
