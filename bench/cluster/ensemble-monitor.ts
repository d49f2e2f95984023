/**
 * Samples a cluster's member pods, each member's `srvr` answer and the reason of the cluster's
 * `Progressing` condition every `intervalMs`, for
 * timeline.ts to derive restarts and elections from. A sample whose pod list failed is dropped
 * (a missing pod must mean a gone pod, not a failed read).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { askFourLetterWord } from '../../src/zookeeper/four-letter-word.js';
import { parseSrvr } from '../../src/zookeeper/readings.js';
import { memberPods, readCluster } from '../../test/support/clusters.js';
import type { MemberSample, Sample } from './timeline.js';

export class EnsembleMonitor {
  readonly samples: Sample[] = [];
  private stopping = false;
  private readonly running: Promise<void>;

  private constructor(
    private readonly namespace: string,
    private readonly name: string,
    private readonly intervalMs: number,
  ) {
    this.running = this.loop();
  }

  static start(namespace: string, name: string, intervalMs = 250): EnsembleMonitor {
    return new EnsembleMonitor(namespace, name, intervalMs);
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      const started = Date.now();
      const sample = await this.sample().catch(() => undefined);
      if (sample !== undefined) this.samples.push(sample);
      await delay(Math.max(0, this.intervalMs - (Date.now() - started)));
    }
  }

  private async sample(): Promise<Sample> {
    const atMs = Date.now();
    const [pods, cluster] = await Promise.all([
      memberPods(this.namespace, this.name),
      readCluster(this.namespace, this.name),
    ]);
    const progress = cluster.status?.conditions?.find((c) => c.type === 'Progressing')?.reason;
    const members = await Promise.all(
      pods.map(async (pod): Promise<MemberSample> => {
        const ip = pod.status?.podIP;
        const srvr = ip
          ? await askFourLetterWord(ip, 2181, 'srvr', 1_000)
              .then(parseSrvr)
              .catch(() => undefined)
          : undefined;
        return {
          pod: pod.metadata?.name ?? '',
          uid: pod.metadata?.uid ?? '',
          terminating: pod.metadata?.deletionTimestamp !== undefined,
          ready: (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
          ...(srvr === undefined ? {} : { mode: srvr.mode, epoch: srvr.epoch }),
        };
      }),
    );
    return { atMs, members, ...(progress === undefined ? {} : { progress }) };
  }

  /** Stops sampling; resolves with every sample taken. */
  async stop(): Promise<Sample[]> {
    this.stopping = true;
    await this.running;
    return this.samples;
  }
}
