/**
 * The member reader against a stand-in member that answers as ZooKeeper does under the rendered
 * 4lw whitelist: recorded answers for the words it allows, a refusal for every other word.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { renderCluster } from '../../../src/render/cluster.js';
import { readMember } from '../../../src/zookeeper/ensemble-reader.js';
import { aCluster } from '../../support/builders.js';

const recorded = join(dirname(fileURLToPath(import.meta.url)), 'recorded', '3.9.4');

function renderedWhitelist(): string[] {
  const zooCfg = renderCluster({ cluster: aCluster(), bootstrap: false }).configMap.data?.['zoo.cfg'] ?? '';
  return (/^4lw\.commands\.whitelist=(.*)$/m.exec(zooCfg)?.[1] ?? '').split(',');
}

/** Serves follower-1's recorded answers on a loopback port; records every word it is asked. */
async function standInMember(whitelist: readonly string[]): Promise<{ port: number; asked: string[]; close(): void }> {
  const asked: string[] = [];
  const server = createServer((socket) => {
    socket.once('data', (data) => {
      const word = data.toString();
      asked.push(word);
      socket.end(
        whitelist.includes(word)
          ? readFileSync(join(recorded, `follower-1-${word}.txt`), 'utf8')
          : `${word} is not executed because it is not in the whitelist.`,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return { port: address.port, asked, close: () => server.close() };
}

test('a member is read through the client port with srvr, mntr and conf, words the rendered whitelist allows', async (t) => {
  const whitelist = renderedWhitelist();
  const member = await standInMember(whitelist);
  t.teardown(() => member.close());

  const reading = await readMember({ pod: 'zk-0', myid: 1, ip: '127.0.0.1' }, { client: member.port }, 3_000);

  t.is(reading.unreachable, undefined);
  t.like(reading, { srvr: { mode: 'follower' }, mntr: { serverState: 'follower' }, conf: { serverId: 1 } });
  t.deepEqual([...member.asked].sort(), ['conf', 'mntr', 'srvr']);
  t.true(
    member.asked.every((word) => whitelist.includes(word)),
    `whitelist: ${whitelist.join(',')}`,
  );
});
