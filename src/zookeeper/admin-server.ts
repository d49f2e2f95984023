/**
 * ZooKeeper's AdminServer (Jetty, `/commands/<name>`): JSON answers with an `error` field.
 * The I/O edge; `parseZabState` in readings.ts interprets the answer.
 */
export interface AdminAnswer {
  /** HTTP status; 500 is what `mntr` answers on a member without quorum. */
  status: number;
  /** Parsed JSON, or undefined when the body was not JSON (an error page). */
  body: unknown;
}

export async function askAdminServer(
  host: string,
  port: number,
  command: string,
  timeoutMs = 3_000,
): Promise<AdminAnswer> {
  const url = `http://${host}:${port}/commands/${command}`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new Error(`AdminServer ${url}: ${(error as Error).message}`);
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    // Jetty's HTML error page: the status says what happened.
    body = undefined;
  }
  return { status: response.status, body };
}
