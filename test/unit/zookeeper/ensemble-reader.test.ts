/**
 * The member reader against a stand-in member that answers as ZooKeeper does under the rendered
 * 4lw whitelist: recorded answers for the words it allows, a refusal for every other word. The
 * stand-in counts the connections it accepts, as a member's log would.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import fc from 'fast-check';
import { renderCluster } from '../../../src/render/cluster.js';
import { memberStateReader, READING_MAX_AGE_MS, readMember } from '../../../src/zookeeper/ensemble-reader.js';
import { aCluster } from '../../support/builders.js';
import { memberConfigFiles } from '../../support/member-config.js';

const recorded = join(dirname(fileURLToPath(import.meta.url)), 'recorded', '3.9.4');

function renderedWhitelist(): string[] {
  const zooCfg = memberConfigFiles(renderCluster({ cluster: aCluster(), bootstrap: false }))['zoo.cfg'] ?? '';
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

/** A reader with a clock the test moves, reading the stand-in as member zk-0. */
function readerOfStandIn(port: number) {
  let clockMs = 0;
  const reader = memberStateReader({ monotonicMs: () => clockMs });
  const member = { pod: 'zk-0', myid: 1, ip: '127.0.0.1' };
  return {
    at: (ms: number) => {
      clockMs = ms;
    },
    read: (options?: { fresh?: boolean }, address = member) => reader.read([address], { client: port }, options),
  };
}

const cases: { name: string; reads: { atMs: number; fresh?: boolean }[]; asked: number }[] = [
  { name: 'a reading asked again within the second is reused', reads: [{ atMs: 0 }, { atMs: 999 }], asked: 1 },
  { name: 'a reading a second old is not reused', reads: [{ atMs: 0 }, { atMs: READING_MAX_AGE_MS }], asked: 2 },
  {
    name: 'a fresh reading reuses nothing, and is reused itself',
    reads: [{ atMs: 0 }, { atMs: 10, fresh: true }, { atMs: 900 }],
    asked: 2,
  },
];

for (const c of cases) {
  test(`${c.name}: ${c.asked} reading(s), three words each`, async (t) => {
    const member = await standInMember(renderedWhitelist());
    t.teardown(() => member.close());
    const reader = readerOfStandIn(member.port);
    for (const read of c.reads) {
      reader.at(read.atMs);
      const [reading] = await reader.read(read.fresh ? { fresh: true } : {});
      t.like(reading, { pod: 'zk-0', srvr: { mode: 'follower' } });
    }
    t.is(member.asked.length, 3 * c.asked, member.asked.join(' '));
  });
}

test('a member with a new pod IP is a new member: its reading is not the old address’s', async (t) => {
  const member = await standInMember(renderedWhitelist());
  t.teardown(() => member.close());
  const reader = readerOfStandIn(member.port);
  t.like((await reader.read())[0], { srvr: { mode: 'follower' } });
  reader.at(10);
  // Nothing listens there: the reading says so instead of repeating the old address's.
  const [moved] = await reader.read({}, { pod: 'zk-0', myid: 1, ip: '127.0.0.2' });
  t.regex(moved?.unreachable ?? '', /127\.0\.0\.2/);
  t.is(member.asked.length, 3);
});

test('however many reconciles ask, a member is asked at most once per second of the clock', async (t) => {
  const member = await standInMember(renderedWhitelist());
  t.teardown(() => member.close());
  await fc.assert(
    fc.asyncProperty(fc.array(fc.nat({ max: 10_000 }), { minLength: 1, maxLength: 60 }), async (offsets) => {
      const reader = readerOfStandIn(member.port);
      const times = [...offsets].sort((a, b) => a - b);
      const before = member.asked.length;
      for (const atMs of times) {
        reader.at(atMs);
        await reader.read();
      }
      const readings = (member.asked.length - before) / 3;
      const span = (times.at(-1) ?? 0) - (times[0] ?? 0);
      return readings <= Math.floor(span / READING_MAX_AGE_MS) + 1 && readings <= times.length;
    }),
    { numRuns: 30 },
  );
  t.true(member.asked.length > 0);
});
