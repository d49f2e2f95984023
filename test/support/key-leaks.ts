/**
 * Whether a private key shows anywhere the operator speaks about a cluster on the real control
 * plane: its Events, the cluster's status and the operator's log lines. A key shows if its PEM
 * header does, or any base64 line of it.
 */
import { CoreV1Api, type CoreV1Event } from '@kubernetes/client-node';
import { controlPlane } from '../harness/fixture.js';
import { readCluster } from './clusters.js';

export interface Said {
  events: CoreV1Event[];
  /** The Events, the status and the log, as one text. */
  text: string;
}

/** What the operator said about cluster `name`: Events in its namespace, its status, `logLines`. */
export async function saidAbout(namespace: string, name: string, logLines: readonly unknown[]): Promise<Said> {
  const core = (await controlPlane()).kubeConfig.makeApiClient(CoreV1Api);
  const events = (await core.listNamespacedEvent({ namespace })).items;
  const text = [
    ...events.map((e) => `${e.reason}: ${e.message}`),
    JSON.stringify((await readCluster(namespace, name)).status),
    ...logLines.map((line) => JSON.stringify(line)),
  ].join('\n');
  return { events, text };
}

/** The PEM header and every line of the keys in `keyPems` that `said` contains: none, when nothing leaked. */
export function leakedKeyLines(said: Said, keyPems: readonly string[]): string[] {
  const lines = keyPems.flatMap((pem) =>
    pem.split('\n').filter((line) => line.length > 0 && !line.startsWith('-----')),
  );
  return ['PRIVATE KEY', ...lines].filter((line) => said.text.includes(line));
}
