import test from 'ava';
import fc from 'fast-check';
import { parseQuantity } from '../../../src/api/defaults.js';
import {
  appliedClaimSize,
  nextStorageStep,
  podsToRemount,
  type SizedClaim,
  type StorageResizeInput,
  type StorageStep,
} from '../../../src/controller/storage-resize.js';

const PENDING_SINCE = new Date('2026-11-25T12:00:00Z');

/** Claim `data-zk-<ordinal>`; `pending`: FileSystemResizePending since PENDING_SINCE. */
const claim = (name: string, requested: string, capacity?: string, pending = false): SizedClaim => ({
  name,
  myid: Number(/(\d+)$/.exec(name)?.[1]) + 1,
  requested,
  capacity,
  fileSystemResizePendingSince: pending ? PENDING_SINCE : undefined,
});

const input = (overrides: Partial<StorageResizeInput>): StorageResizeInput => ({
  cluster: { namespace: 'ns', name: 'zk' },
  desiredSize: '10Gi',
  templateSize: '10Gi',
  claims: [claim('data-zk-0', '10Gi', '10Gi'), claim('data-zk-1', '10Gi', '10Gi')],
  ...overrides,
});

const table: { title: string; given: Partial<StorageResizeInput>; kind: StorageStep['kind']; detail?: RegExp }[] = [
  { title: 'sizes agree and volumes have it', given: {}, kind: 'done' },
  { title: 'ephemeral storage', given: { desiredSize: undefined, templateSize: undefined }, kind: 'done' },
  { title: 'no StatefulSet yet', given: { templateSize: undefined }, kind: 'done' },
  { title: 'the same size written another way', given: { desiredSize: '10240Mi' }, kind: 'done' },
  {
    title: 'a larger size: every short claim first',
    given: { desiredSize: '20Gi' },
    kind: 'resizeClaims',
    detail: /growing the volumes of data-zk-0, data-zk-1 to 20Gi/,
  },
  {
    title: 'a larger size, one claim already patched: only the other',
    given: { desiredSize: '20Gi', claims: [claim('data-zk-0', '20Gi', '10Gi'), claim('data-zk-1', '10Gi', '10Gi')] },
    kind: 'resizeClaims',
    detail: /growing the volumes of data-zk-1 to 20Gi/,
  },
  {
    title: 'every claim asks for the new size: the StatefulSet is recreated',
    given: { desiredSize: '20Gi', claims: [claim('data-zk-0', '20Gi', '10Gi'), claim('data-zk-1', '20Gi', '10Gi')] },
    kind: 'recreateStatefulSet',
    detail: /recreating the StatefulSet zk with the new claim size/,
  },
  {
    title: 'recreated; the driver still grows a volume',
    given: { desiredSize: '20Gi', templateSize: '20Gi', claims: [claim('data-zk-0', '20Gi', '10Gi')] },
    kind: 'waitForVolumes',
    detail: /grow data-zk-0 \(10Gi\) to 20Gi$/,
  },
  {
    title: 'an offline resize that has finished',
    given: { desiredSize: '20Gi', templateSize: '20Gi', claims: [claim('data-zk-0', '20Gi', '20Gi', true)] },
    kind: 'done',
  },
  {
    title: 'an offline resize still pending',
    given: { desiredSize: '20Gi', templateSize: '20Gi', claims: [claim('data-zk-0', '20Gi', '10Gi', true)] },
    kind: 'waitForVolumes',
    detail: /data-zk-0 finish when their members restart \(FileSystemResizePending\), one at a time/,
  },
  {
    title: 'a claim made from the old template after the others grew',
    given: { desiredSize: '20Gi', templateSize: '20Gi', claims: [claim('data-zk-2', '10Gi', '10Gi')] },
    kind: 'resizeClaims',
  },
  {
    title: 'a smaller size is refused and named',
    given: { desiredSize: '5Gi' },
    kind: 'refuseShrink',
    detail: /storage\.size 5Gi is smaller than the members' volumes \(10Gi\); .*Set storage\.size back to 10Gi/,
  },
];

for (const row of table) {
  test(`storage step: ${row.title} -> ${row.kind}`, (t) => {
    const step = nextStorageStep(input(row.given));
    t.is(step.kind, row.kind);
    if (row.detail !== undefined) t.regex('reason' in step ? step.reason.message : '', row.detail);
  });
}

test('the StatefulSet keeps its live claim size; a new one takes the spec', (t) => {
  t.is(appliedClaimSize({ desiredSize: '20Gi', templateSize: '10Gi' }), '10Gi');
  t.is(appliedClaimSize({ desiredSize: '20Gi', templateSize: undefined }), '20Gi');
  t.is(appliedClaimSize({ desiredSize: undefined, templateSize: undefined }), undefined);
});

const sizes = fc.constantFrom('1Gi', '2Gi', '1536Mi', '5Gi', '10Gi');

test('property: from any state, carrying out each step reaches a StatefulSet and claims of the new size', (t) => {
  fc.assert(
    fc.property(
      sizes,
      fc.array(fc.record({ requested: sizes, capacity: sizes }), { maxLength: 5 }),
      sizes,
      (templateSize, claimSizes, desiredSize) => {
        const state = {
          templateSize: templateSize as string | undefined,
          claims: claimSizes.map((c, i) => claim(`data-zk-${i}`, c.requested, c.capacity)),
        };
        const shrink = parseQuantity(desiredSize) < parseQuantity(templateSize);
        for (let step = 0; step < 10; step++) {
          const next = nextStorageStep(input({ desiredSize, ...state }));
          switch (next.kind) {
            case 'done':
              t.false(shrink);
              t.true(state.claims.every((c) => parseQuantity(c.requested ?? '0') >= parseQuantity(desiredSize)));
              t.true(state.claims.every((c) => parseQuantity(c.capacity ?? '0') >= parseQuantity(desiredSize)));
              return true;
            case 'refuseShrink':
              return shrink;
            case 'resizeClaims':
              t.true(next.claims.length > 0);
              for (const c of state.claims) if (next.claims.includes(c.name)) c.requested = next.size;
              break;
            case 'recreateStatefulSet':
              // Only once no claim asks for less than the new template.
              t.true(state.claims.every((c) => parseQuantity(c.requested ?? '0') >= parseQuantity(desiredSize)));
              state.templateSize = desiredSize;
              break;
            case 'waitForVolumes':
              for (const c of state.claims) c.capacity = c.requested;
              break;
          }
        }
        return false;
      },
    ),
  );
});

test('a member is restarted for its volume only if its pod predates the pending file-system resize', (t) => {
  const before = new Date(PENDING_SINCE.getTime() - 1_000);
  const after = new Date(PENDING_SINCE.getTime() + 1_000);
  const claims = [
    claim('data-zk-0', '2Gi', '1Gi', true),
    claim('data-zk-1', '2Gi', '1Gi', true),
    claim('data-zk-2', '2Gi', '2Gi'),
  ];
  t.deepEqual(
    podsToRemount(claims, [
      { name: 'zk-0', myid: 1, createdAt: before },
      { name: 'zk-1', myid: 2, createdAt: after },
      { name: 'zk-2', myid: 3, createdAt: before },
    ]),
    ['zk-0'],
    'zk-1 mounted its volume after the resize (no loop); zk-2 has nothing pending',
  );
  t.deepEqual(podsToRemount([], [{ name: 'zk-0', myid: 1, createdAt: before }]), []);
});
