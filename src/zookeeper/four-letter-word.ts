/**
 * ZooKeeper's four-letter words over TCP: send the word, read until the server closes the
 * connection. The I/O edge of health reading; parsing lives in `readings.ts`.
 *
 * The words the operator may ask are the members' whitelist (`FOUR_LETTER_WORDS`, rendered into
 * zoo.cfg), so asking one the members would refuse does not type-check.
 */
import { connect } from 'node:net';
import type { FOUR_LETTER_WORDS } from '../api/constants.js';

export type FourLetterWord = (typeof FOUR_LETTER_WORDS)[number];

/** Asks a whitelisted `word` at host:port; rejects on connect failure, reset or `timeoutMs`, naming the member. */
export function askFourLetterWord(
  host: string,
  port: number,
  word: FourLetterWord,
  timeoutMs = 3_000,
): Promise<string> {
  return sendFourLetterWord(host, port, word, timeoutMs);
}

/**
 * Sends any word, whitelisted or not, as any client on the network can; a member answers a word
 * outside its whitelist with "<word> is not executed because it is not in the whitelist."
 */
export function sendFourLetterWord(host: string, port: number, word: string, timeoutMs = 3_000): Promise<string> {
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
