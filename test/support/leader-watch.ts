/**
 * An independent observer of leadership: asks every member `srvr` every 100 ms (by pod IP,
 * refreshed as pods come and go) and counts elections, i.e. episodes during which the
 * ensemble had no leader or the leader changed.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { askFourLetterWord } from '../../src/zookeeper/four-letter-word.js';
import { parseSrvr } from '../../src/zookeeper/readings.js';

export class LeaderWatch {
  private leader: string | undefined;
  private inElection = false;
  private stopped = false;
  private readonly done: Promise<void>;
  elections = 0;
  readonly leaders: string[] = [];

  constructor(
    private readonly pods: () => Promise<V1Pod[]>,
    private readonly clientPort = 2181,
  ) {
    this.done = this.run();
  }

  private async run(): Promise<void> {
    let members: V1Pod[] = [];
    let refreshedAt = 0;
    while (!this.stopped) {
      if (Date.now() - refreshedAt > 500) {
        members = await this.pods().catch(() => members);
        refreshedAt = Date.now();
      }
      const modes = await Promise.all(
        members.map(async (pod) => {
          const ip = pod.status?.podIP;
          if (!ip || pod.metadata?.deletionTimestamp) return undefined;
          const answer = await askFourLetterWord(ip, this.clientPort, 'srvr', 500).catch(() => '');
          return parseSafe(answer) === 'leader' ? pod.metadata?.name : undefined;
        }),
      );
      this.observe(modes.find((name) => name !== undefined));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  private observe(current: string | undefined): void {
    if (current !== undefined && this.leaders.at(-1) !== current) this.leaders.push(current);
    if (this.leader !== undefined && current !== this.leader && !this.inElection) {
      this.inElection = true;
      this.elections++;
    }
    if (current !== undefined) {
      this.inElection = false;
      this.leader = current;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

function parseSafe(answer: string): string | undefined {
  try {
    return parseSrvr(answer)?.mode;
  } catch {
    return undefined;
  }
}
