/**
 * ZooKeeper's four-letter words over TCP or TLS (`transport.ts`): send the word, read until the
 * server closes the connection. The I/O edge of health reading; parsing lives in `readings.ts`.
 *
 * The words the operator may ask are the members' whitelist (`FOUR_LETTER_WORDS`, rendered into
 * zoo.cfg), so asking one the members would refuse does not type-check.
 */
import type { FOUR_LETTER_WORDS } from '../api/constants.js';
import { describeEndpoint, openSocket, type TlsTarget } from './transport.js';

export type FourLetterWord = (typeof FOUR_LETTER_WORDS)[number];

/**
 * Asks a whitelisted `word` at host:port, over TLS when `tls` is given; rejects on connect
 * failure, a refused certificate, reset, no answer or `timeoutMs`, naming the member.
 */
export function askFourLetterWord(
  host: string,
  port: number,
  word: FourLetterWord,
  timeoutMs = 3_000,
  tls?: TlsTarget,
): Promise<string> {
  return sendFourLetterWord(host, port, word, timeoutMs, tls);
}

/**
 * Sends any word, whitelisted or not, as any client on the network can; a member answers a word
 * outside its whitelist with "<word> is not executed because it is not in the whitelist."
 */
export function sendFourLetterWord(
  host: string,
  port: number,
  word: string,
  timeoutMs = 3_000,
  tls?: TlsTarget,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = openSocket(host, port, tls, () => socket.end(word));
    const fail = (reason: string) => {
      socket.destroy();
      reject(new Error(`4lw ${word} to ${describeEndpoint(host, port, tls)}: ${reason}`));
    };
    socket.setTimeout(timeoutMs, () => fail(`no answer within ${timeoutMs} ms`));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('error', (error) => fail(error.message));
    socket.once('close', (hadError) => {
      if (hadError) return;
      // A member answers every word, a refused one too; silence is what a port speaking another
      // protocol gives (plaintext sent to a TLS port), never an answer to parse.
      if (chunks.length === 0) fail('the connection closed without an answer');
      else resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}
