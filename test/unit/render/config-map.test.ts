/**
 * The ConfigMap layout: each revision's files under keys named by their content's hash, kept
 * while a live member pod projects them, dropped once none does.
 */
import type { V1Pod } from '@kubernetes/client-node';
import test from 'ava';
import fc from 'fast-check';
import {
  type ConfigMapDataInput,
  configMapData,
  configVolumeItems,
  projectedKeys,
  REVISION_FILES,
  type RevisionFiles,
  revisionFilesHash,
  revisionKey,
  SHARED_KEYS,
} from '../../../src/render/config-map.js';

const filesOf = (zooCfg: string): RevisionFiles => ({
  'logback.xml': '<configuration/>\n',
  'probe.sh': '#!/usr/bin/env bash\n',
  'start.sh': '#!/usr/bin/env bash\nexec zkServer.sh\n',
  'zoo.cfg': zooCfg,
});
const good = filesOf('tickTime=2000\n');
const bad = filesOf('maxCnxns=lots\n');
const shared = { bootstrap: 'false', 'zoo.cfg.dynamic': 'server.1=a:2888:3888;2181\n' };

/** The keys of a revision's files, as the ConfigMap holds them. */
const keysOf = (files: RevisionFiles): Record<string, string> =>
  Object.fromEntries(REVISION_FILES.map((file) => [revisionKey(file, revisionFilesHash(files)), files[file]]));

/** A member pod whose config volume projects `files`' keys. */
const podOn = (files: RevisionFiles): V1Pod => ({
  spec: {
    containers: [],
    volumes: [
      { name: 'data', emptyDir: {} },
      { name: 'config', configMap: { name: 'zk-config', items: configVolumeItems(revisionFilesHash(files)) } },
    ],
  },
});
/** A member pod created before revision keys: its volume projects every key. */
const podOfPlainLayout: V1Pod = {
  spec: { containers: [], volumes: [{ name: 'config', configMap: { name: 'zk-config' } }] },
};
const projected = (pods: readonly V1Pod[]) => pods.map((pod) => projectedKeys(pod, 'zk-config'));

const cases: { name: string; input: ConfigMapDataInput; expected: Record<string, string> }[] = [
  {
    name: 'a new cluster: the current revision’s keys and the shared keys',
    input: { files: good, shared, live: undefined, projected: [] },
    expected: { ...keysOf(good), ...shared },
  },
  {
    name: 'a roll under way: the outdated members’ revision is kept as it is beside the new one',
    input: {
      files: bad,
      shared,
      live: { ...keysOf(good), ...shared, bootstrap: 'true' },
      projected: projected([podOn(bad), podOn(good), podOn(good)]),
    },
    expected: { ...keysOf(good), ...keysOf(bad), ...shared },
  },
  {
    name: 'a roll finished: the revision no member projects is dropped',
    input: {
      files: bad,
      shared,
      live: { ...keysOf(good), ...keysOf(bad), ...shared },
      projected: projected([podOn(bad), podOn(bad), podOn(bad)]),
    },
    expected: { ...keysOf(bad), ...shared },
  },
  {
    name: 'a member projects a revision the live ConfigMap lost: nothing to copy, nothing invented',
    input: { files: bad, shared, live: { ...shared }, projected: projected([podOn(good)]) },
    expected: { ...keysOf(bad), ...shared },
  },
  {
    name: 'members of the plain layout project every key: all are kept, the plain names as they are',
    input: {
      files: good,
      shared,
      live: { ...shared, 'zoo.cfg': 'tickTime=3000\n', 'start.sh': 'old\n', ...keysOf(bad) },
      projected: projected([podOfPlainLayout, podOn(good)]),
    },
    expected: { ...shared, 'zoo.cfg': 'tickTime=3000\n', 'start.sh': 'old\n', ...keysOf(bad), ...keysOf(good) },
  },
  {
    name: 'the plain names go once no member of that layout is left',
    input: {
      files: good,
      shared,
      live: { ...shared, 'zoo.cfg': 'tickTime=3000\n', 'start.sh': 'old\n', ...keysOf(good) },
      projected: projected([podOn(good)]),
    },
    expected: { ...shared, ...keysOf(good) },
  },
  {
    name: 'a key the operator never names is left as it is',
    input: { files: good, shared, live: { ...shared, 'notes.txt': 'by hand\n' }, projected: [] },
    expected: { ...shared, ...keysOf(good), 'notes.txt': 'by hand\n' },
  },
];

for (const c of cases) {
  test(`ConfigMap data: ${c.name}`, (t) => {
    const data = configMapData(c.input);
    t.deepEqual(data, c.expected);
    t.deepEqual(Object.keys(data), Object.keys(data).sort(), 'keys sorted');
  });
}

test('a revision’s files are projected under their plain names, the shared keys under their own', (t) => {
  const hash = revisionFilesHash(good);
  t.regex(hash, /^[0-9a-f]{16}$/);
  t.deepEqual(configVolumeItems(hash), [
    { key: 'bootstrap', path: 'bootstrap' },
    { key: `logback.xml.${hash}`, path: 'logback.xml' },
    { key: `probe.sh.${hash}`, path: 'probe.sh' },
    { key: `start.sh.${hash}`, path: 'start.sh' },
    { key: `zoo.cfg.${hash}`, path: 'zoo.cfg' },
    { key: 'zoo.cfg.dynamic', path: 'zoo.cfg.dynamic' },
  ]);
});

test('the hash follows the files’ content, never their key order', (t) => {
  t.not(revisionFilesHash(good), revisionFilesHash(bad));
  const reordered = Object.fromEntries(Object.entries(good).reverse()) as RevisionFiles;
  t.is(revisionFilesHash(reordered), revisionFilesHash(good));
});

test('a pod without the config volume projects nothing of it', (t) => {
  t.deepEqual(projectedKeys({ spec: { containers: [] } }, 'zk-config'), []);
  t.deepEqual(projectedKeys(podOn(good), 'other-config'), []);
});

// Properties: any set of revisions, live members on any of them, any live ConfigMap.
const arbitraryFiles = fc
  .record({ zooCfg: fc.string({ maxLength: 30 }), start: fc.string({ maxLength: 30 }) })
  .map(({ zooCfg, start }) => ({ ...filesOf(zooCfg), 'start.sh': start }));
const arbitraryWorld = fc
  .record({
    current: arbitraryFiles,
    revisions: fc.array(arbitraryFiles, { maxLength: 4 }),
    // Each live member: a revision index, or -1 for the plain layout.
    members: fc.array(fc.integer({ min: -1, max: 3 }), { maxLength: 5 }),
    lost: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
    plainNames: fc.boolean(),
    bootstrap: fc.boolean(),
  })
  .map((w) => {
    const pods = w.members
      .filter((i) => i < w.revisions.length)
      .map((i) => (i < 0 ? podOfPlainLayout : podOn(w.revisions[i] as RevisionFiles)));
    const live: Record<string, string> = { ...shared };
    w.revisions.forEach((files, i) => {
      if (!w.lost[i]) Object.assign(live, keysOf(files));
    });
    if (w.plainNames) Object.assign(live, { 'zoo.cfg': 'tickTime=1\n', 'start.sh': 'plain\n' });
    const input: ConfigMapDataInput = {
      files: w.current,
      shared: { ...shared, bootstrap: String(w.bootstrap) },
      live,
      projected: projected(pods),
    };
    return { input, pods, live };
  });

test('property: every key a live member projects and the live ConfigMap holds is kept byte for byte', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(arbitraryWorld, ({ input, live }) => {
        const data = configMapData(input);
        const isShared = (key: string) => (SHARED_KEYS as readonly string[]).includes(key);
        return input.projected.every((keys) =>
          (keys === 'all' ? Object.keys(live) : keys)
            .filter((key) => key in live && !isShared(key))
            .every((key) => data[key] === live[key]),
        );
      }),
    ),
  );
});

test('property: nothing survives that neither the current revision, a live member nor a hand-added key accounts for', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(arbitraryWorld, ({ input }) => {
        const data = configMapData(input);
        const current = Object.keys({ ...keysOf(input.files), ...input.shared });
        const referenced = new Set(input.projected.flatMap((keys) => (keys === 'all' ? Object.keys(data) : keys)));
        return Object.keys(data).every((key) => current.includes(key) || referenced.has(key));
      }),
    ),
  );
});

test('property: a member of the current revision finds every file it projects, the shared keys current', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(arbitraryWorld, ({ input }) => {
        const data = configMapData(input);
        const items = configVolumeItems(revisionFilesHash(input.files));
        return items.every(
          ({ key, path }) =>
            data[key] ===
            (path in input.files ? input.files[path as keyof RevisionFiles] : input.shared[path as 'bootstrap']),
        );
      }),
    ),
  );
});

test('property: the same input gives byte-identical data, whatever the order of the live keys and members', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(arbitraryWorld, ({ input, live }) => {
        const reordered = {
          ...input,
          live: Object.fromEntries(Object.entries(live).reverse()),
          projected: [...input.projected].reverse(),
        };
        return JSON.stringify(configMapData(input)) === JSON.stringify(configMapData(reordered));
      }),
    ),
  );
});

test('property: at most one revision’s files beyond those live members project', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(arbitraryWorld, ({ input }) => {
        const data = configMapData(input);
        const hashes = new Set(Object.keys(data).flatMap((key) => /\.([0-9a-f]{16})$/.exec(key)?.[1] ?? []));
        const projectedHashes = new Set(
          input.projected.flatMap((keys) =>
            keys === 'all' ? [] : keys.flatMap((key) => /\.([0-9a-f]{16})$/.exec(key)?.[1] ?? []),
          ),
        );
        const plainLayout = input.projected.some((keys) => keys === 'all');
        return plainLayout || [...hashes].filter((h) => !projectedHashes.has(h)).length <= 1;
      }),
    ),
  );
});
