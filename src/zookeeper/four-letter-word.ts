/**
 * ZooKeeper's four-letter words over TCP: send the word, read until the server closes the
 * connection. The I/O edge of health reading; parsing lives in `readings.ts`.
 */
import { connect } from 'node:net';

export type FourLetterWord = 'conf' | 'mntr' | 'ruok' | 'srvr' | 'stat' | 'isro';

/** Asks `word` at host:port; rejects on connect failure, reset or `timeoutMs`, naming the member. */
export function askFourLetterWord(
  host: string,
  port: number,
  word: FourLetterWord,
  timeoutMs = 3_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host, port });
    const fail = (reason: string) => {
      socket.destroy();
      reject(new Error(`4lw ${word} to ${host}:${port}: ${reason}`));
    };
    socket.setTimeout(timeoutMs, () => fail(`no answer within ${timeoutMs} ms`));
    socket.once('connect', () => socket.end(word));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('error', (error) => fail(error.message));
    socket.once('close', (hadError) => {
      if (!hadError) resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}
