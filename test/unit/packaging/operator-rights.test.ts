/**
 * The chart's RBAC rules are exactly what the code needs: every grant is used by some call in
 * src/, and every call in src/ is granted. The needs are derived from the code, not listed by
 * hand (test/support/operator-rights.ts says how). Leases are the leader-election rules'
 * (granted in the release namespace only), the rest the cluster rules'. The integration test
 * (test/integration/operator-rights.test.ts) checks the other direction at run time: every
 * request the operator's pod made, as the API server's audit log records it, is among these
 * needs; and it shows the API server refusing blockOwnerDeletion without the finalizers grant.
 */
import test from 'ava';
import { repoPath } from '../../harness/repo.js';
import {
  API_CLASSES,
  grantedRights,
  isLease,
  neededRights,
  SOURCES,
  sorted,
  WATCHED_RESOURCES,
} from '../../support/operator-rights.js';

test('the operator constructs no API client other than the ones whose calls this test reads', (t) => {
  for (const [file, text] of Object.entries(SOURCES)) {
    for (const made of text.matchAll(/(?:makeObservedApiClient\([^,]+,|makeApiClient\()\s*([A-Za-z0-9]+)/g)) {
      t.true((made[1] as string) in API_CLASSES, `${file} constructs ${made[1]}`);
    }
  }
  const watchers = Object.entries(SOURCES)
    // A watch is client-node's Watch, or a subclass of it (the informer's drops managedFields).
    .filter(([, text]) => /new Watch\(|extends Watch\b/.test(text))
    .map(([file]) => file.slice(repoPath('').length));
  t.deepEqual(watchers, ['src/runtime/informer.ts'], 'only informers watch, and they watch what they list');
});

test('the operator starts an informer for every resource watched-resources.ts lists', (t) => {
  const factories = [...(SOURCES[WATCHED_RESOURCES] ?? '').matchAll(/export function (\w+)\(/g)].map((m) => m[1]);
  const started = [...(SOURCES[repoPath('src/operator.ts')] ?? '').matchAll(/resources\.(\w+)\(/g)].map((m) => m[1]);
  t.true(factories.length > 0);
  t.deepEqual(sorted(started as string[]), sorted(factories as string[]));
});

test('every rule of files/cluster-rules.yaml is used by the code, and every call the code makes is granted', (t) => {
  const needs = neededRights().filter((need) => !isLease(need.right));
  const granted = grantedRights('cluster-rules.yaml');
  t.deepEqual(
    granted.filter((grant) => !needs.some((need) => need.right === grant)),
    [],
    'granted, but no code path uses it: remove it',
  );
  t.deepEqual(
    needs.filter((need) => !granted.includes(need.right)).map((need) => `${need.right} (${need.where})`),
    [],
    'used by the code, but not granted: add it',
  );
  t.log(sorted(needs.map((need) => need.right)).join('\n'));
});

test('the leader-election rules grant exactly the Lease calls the code makes', (t) => {
  const needs = neededRights().filter((need) => isLease(need.right));
  t.true(needs.length > 0);
  t.deepEqual(sorted(grantedRights('leader-election-rules.yaml')), sorted(needs.map((need) => need.right)));
});

test('no grant is a wildcard, and Secrets are never patched or deleted', (t) => {
  const all = [...grantedRights('cluster-rules.yaml'), ...grantedRights('leader-election-rules.yaml')];
  t.false(all.some((grant) => grant.includes('*')));
  // list and watch: the certificate Secrets' informer (label-selected); update: their renewal.
  t.deepEqual(
    all.filter((grant) => grant.startsWith('core/secrets ')),
    ['core/secrets get', 'core/secrets list', 'core/secrets watch', 'core/secrets create', 'core/secrets update'],
  );
});
