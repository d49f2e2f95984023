/**
 * The leader's epoch, read from the leader itself (`srvr` Zxid: the epoch is its high 32 bits).
 * Every leader election starts a new epoch, so the difference between two readings is exactly
 * the number of elections in between, however briefly each lasted.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { askFourLetterWord } from '../../src/zookeeper/four-letter-word.js';
import { parseSrvr, type SrvrReading } from '../../src/zookeeper/readings.js';
import { pollUntil } from '../harness/poll.js';

export async function leaderEpoch(
  pods: () => Promise<V1Pod[]>,
  clientPort = 2181,
): Promise<{ leader: string; epoch: number }> {
  return pollUntil(
    'a leader to read the epoch from',
    async () => {
      for (const pod of await pods()) {
        const ip = pod.status?.podIP;
        if (!ip || pod.metadata?.deletionTimestamp) continue;
        const srvr: SrvrReading | undefined = await askFourLetterWord(ip, clientPort, 'srvr', 2_000)
          .then(parseSrvr)
          .catch(() => undefined);
        if (srvr?.mode === 'leader') return { leader: pod.metadata?.name ?? '', epoch: srvr.epoch };
      }
      return undefined;
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
}
