/**
 * Free TCP ports on 127.0.0.1, chosen by the kernel at run time, so that two test processes
 * never fight over fixed ports. A port is only known to be free when asked; a server that
 * loses the race fails with "address already in use" and `withPortRetries` starts it again
 * on new ports.
 */
import { createServer } from 'node:net';

const PORT_CLASH_ATTEMPTS = 3;

/** A port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') {
    throw new Error(`could not read the port of a probe listener on 127.0.0.1 (got ${String(address)})`);
  }
  return address.port;
}

/**
 * Runs `start` (which picks its ports with `freePort`) again when it failed because a port was
 * taken between choosing and binding; the error's text includes the process log tail.
 */
export async function withPortRetries<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      const portClash = /address already in use/i.test((error as Error).message);
      if (!portClash || attempt >= PORT_CLASH_ATTEMPTS) throw error;
    }
  }
}
