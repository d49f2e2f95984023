import test from 'ava';
import fc from 'fast-check';
import { OBSERVER_ID_BASE } from '../../../src/api/constants.js';
import { parseQuantity } from '../../../src/api/defaults.js';
import {
  appliedClaimSize,
  type ClaimGroup,
  claimsOf,
  nextStorageStep,
  podsToRemount,
  type SizedClaim,
  type StorageResizeInput,
  type StorageStep,
} from '../../../src/controller/storage-resize.js';

const PENDING_SINCE = new Date('2026-11-25T12:00:00Z');

/**
 * Claim `data-zk-<ordinal>` (a voter's, server id ordinal + 1) or `data-zk-observer-<ordinal>`
 * (an observer's, server id 101 + ordinal); `pending`: FileSystemResizePending since PENDING_SINCE.
 */
const claim = (name: string, requested: string, capacity?: string, pending = false): SizedClaim => {
  const ordinal = Number(/(\d+)$/.exec(name)?.[1]);
  return {
    name,
    myid: name.includes('-observer-') ? OBSERVER_ID_BASE + ordinal + 1 : ordinal + 1,
    requested,
    capacity,
    fileSystemResizePendingSince: pending ? PENDING_SINCE : undefined,
  };
};

const voters = (templateSize: string | undefined, claims: SizedClaim[]): ClaimGroup => ({
  statefulSet: 'zk',
  templateSize,
  claims,
});
const observers = (templateSize: string | undefined, claims: SizedClaim[]): ClaimGroup => ({
  statefulSet: 'zk-observer',
  templateSize,
  claims,
});

const grown = (size: string) => [claim('data-zk-0', size, size), claim('data-zk-1', size, size)];
const grownObserver = (size: string) => [claim('data-zk-observer-0', size, size)];

const input = (overrides: Partial<StorageResizeInput>): StorageResizeInput => ({
  cluster: { namespace: 'ns', name: 'zk' },
  desiredSize: '10Gi',
  groups: [voters('10Gi', grown('10Gi'))],
  ...overrides,
});

const table: { title: string; given: Partial<StorageResizeInput>; expected: Partial<StorageStep>; detail?: RegExp }[] =
  [
    { title: 'sizes agree and volumes have it', given: {}, expected: { kind: 'done' } },
    {
      title: 'ephemeral storage',
      given: { desiredSize: undefined, groups: [voters(undefined, [])] },
      expected: { kind: 'done' },
    },
    { title: 'no StatefulSet yet', given: { groups: [voters(undefined, [])] }, expected: { kind: 'done' } },
    { title: 'no group at all', given: { groups: [] }, expected: { kind: 'done' } },
    { title: 'the same size written another way', given: { desiredSize: '10240Mi' }, expected: { kind: 'done' } },
    {
      title: 'a larger size: every short claim first',
      given: { desiredSize: '20Gi' },
      expected: { kind: 'resizeClaims', claims: ['data-zk-0', 'data-zk-1'], size: '20Gi' },
      detail: /growing the volumes of data-zk-0, data-zk-1 to 20Gi/,
    },
    {
      title: 'a larger size, one claim already patched: only the other',
      given: {
        desiredSize: '20Gi',
        groups: [voters('10Gi', [claim('data-zk-0', '20Gi', '10Gi'), claim('data-zk-1', '10Gi', '10Gi')])],
      },
      expected: { kind: 'resizeClaims', claims: ['data-zk-1'] },
      detail: /growing the volumes of data-zk-1 to 20Gi/,
    },
    {
      title: 'every claim asks for the new size: the StatefulSet is recreated',
      given: {
        desiredSize: '20Gi',
        groups: [voters('10Gi', [claim('data-zk-0', '20Gi', '10Gi'), claim('data-zk-1', '20Gi', '10Gi')])],
      },
      expected: { kind: 'recreateStatefulSet', statefulSet: 'zk' },
      detail: /recreating the StatefulSet zk with the new claim size/,
    },
    {
      title: 'recreated; the driver still grows a volume',
      given: { desiredSize: '20Gi', groups: [voters('20Gi', [claim('data-zk-0', '20Gi', '10Gi')])] },
      expected: { kind: 'waitForVolumes' },
      detail: /grow data-zk-0 \(10Gi\) to 20Gi$/,
    },
    {
      title: 'an offline resize that has finished',
      given: { desiredSize: '20Gi', groups: [voters('20Gi', [claim('data-zk-0', '20Gi', '20Gi', true)])] },
      expected: { kind: 'done' },
    },
    {
      title: 'an offline resize still pending',
      given: { desiredSize: '20Gi', groups: [voters('20Gi', [claim('data-zk-0', '20Gi', '10Gi', true)])] },
      expected: { kind: 'waitForVolumes' },
      detail: /data-zk-0 finish when their members restart \(FileSystemResizePending\), one at a time/,
    },
    {
      title: 'a claim made from the old template after the others grew',
      given: { desiredSize: '20Gi', groups: [voters('20Gi', [claim('data-zk-2', '10Gi', '10Gi')])] },
      expected: { kind: 'resizeClaims', claims: ['data-zk-2'] },
    },
    {
      title: 'a smaller size is refused and named',
      given: { desiredSize: '5Gi' },
      expected: { kind: 'refuseShrink' },
      detail:
        /storage\.size 5Gi is smaller than the members' volumes \(10Gi, StatefulSet zk\); .*Set storage\.size back to 10Gi/,
    },
    // With observers: the observer StatefulSet is a second group, grown the same way.
    {
      title: 'observers: sizes agree and volumes have it',
      given: { groups: [voters('10Gi', grown('10Gi')), observers('10Gi', grownObserver('10Gi'))] },
      expected: { kind: 'done' },
    },
    {
      title: 'observers: a larger size grows voters and observers in one step',
      given: { desiredSize: '20Gi', groups: [voters('10Gi', grown('10Gi')), observers('10Gi', grownObserver('10Gi'))] },
      expected: { kind: 'resizeClaims', claims: ['data-zk-0', 'data-zk-1', 'data-zk-observer-0'], size: '20Gi' },
    },
    {
      title: "observers: only the observer's claim still short",
      given: {
        desiredSize: '20Gi',
        groups: [
          voters('10Gi', [claim('data-zk-0', '20Gi', '20Gi'), claim('data-zk-1', '20Gi', '20Gi')]),
          observers('10Gi', grownObserver('10Gi')),
        ],
      },
      expected: { kind: 'resizeClaims', claims: ['data-zk-observer-0'] },
    },
    {
      title: "observers: every claim asks for the new size: the voters' StatefulSet first",
      given: {
        desiredSize: '20Gi',
        groups: [voters('10Gi', grown('20Gi')), observers('10Gi', grownObserver('20Gi'))],
      },
      expected: { kind: 'recreateStatefulSet', statefulSet: 'zk' },
    },
    {
      title: "observers: the voters' StatefulSet recreated, the observers' next",
      given: {
        desiredSize: '20Gi',
        groups: [voters('20Gi', grown('20Gi')), observers('10Gi', grownObserver('20Gi'))],
      },
      expected: { kind: 'recreateStatefulSet', statefulSet: 'zk-observer' },
      detail: /recreating the StatefulSet zk-observer with the new claim size, leaving its pods and claims in place/,
    },
    {
      title: 'observers: an observer StatefulSet of no pods is still recreated, for the observers to come',
      given: { desiredSize: '20Gi', groups: [voters('20Gi', grown('20Gi')), observers('10Gi', [])] },
      expected: { kind: 'recreateStatefulSet', statefulSet: 'zk-observer' },
    },
    {
      title: "observers: both recreated; the driver still grows the observer's volume",
      given: {
        desiredSize: '20Gi',
        groups: [voters('20Gi', grown('20Gi')), observers('20Gi', [claim('data-zk-observer-0', '20Gi', '10Gi')])],
      },
      expected: { kind: 'waitForVolumes' },
      detail: /grow data-zk-observer-0 \(10Gi\) to 20Gi$/,
    },
    {
      title: 'observers: an observer StatefulSet not created yet waits for nothing',
      given: { desiredSize: '20Gi', groups: [voters('20Gi', grown('20Gi')), observers(undefined, [])] },
      expected: { kind: 'done' },
    },
    {
      title: 'observers: voters grown before observers could (the size they were created with) catch up',
      given: { desiredSize: '20Gi', groups: [voters('20Gi', grown('20Gi')), observers('10Gi', grownObserver('10Gi'))] },
      expected: { kind: 'resizeClaims', claims: ['data-zk-observer-0'] },
    },
    {
      title: 'observers: a size below the larger template is refused, naming that StatefulSet',
      given: { desiredSize: '15Gi', groups: [voters('20Gi', grown('20Gi')), observers('10Gi', grownObserver('10Gi'))] },
      expected: { kind: 'refuseShrink' },
      detail: /storage\.size 15Gi is smaller than the members' volumes \(20Gi, StatefulSet zk\)/,
    },
  ];

for (const row of table) {
  test(`storage step: ${row.title} -> ${row.expected.kind}`, (t) => {
    const step = nextStorageStep(input(row.given));
    t.like(step, row.expected);
    if (row.detail !== undefined) t.regex('reason' in step ? step.reason.message : '', row.detail);
  });
}

test('each StatefulSet keeps its live claim size; a new one takes the spec', (t) => {
  t.is(appliedClaimSize({ desiredSize: '20Gi', templateSize: '10Gi' }), '10Gi');
  t.is(appliedClaimSize({ desiredSize: '20Gi', templateSize: undefined }), '20Gi');
  t.is(appliedClaimSize({ desiredSize: undefined, templateSize: undefined }), undefined);
});

const sizes = fc.constantFrom('1Gi', '2Gi', '1536Mi', '5Gi', '10Gi');
const claimSizes = (maxLength: number) => fc.array(fc.record({ requested: sizes, capacity: sizes }), { maxLength });

test('property: from any state of voters and observers, carrying out each step reaches StatefulSets and claims of the new size', (t) => {
  fc.assert(
    fc.property(
      sizes,
      claimSizes(5),
      fc.option(fc.record({ templateSize: sizes, claims: claimSizes(3) }), { nil: undefined }),
      sizes,
      (voterTemplate, voterClaims, observerGroup, desiredSize) => {
        const groups = [
          voters(
            voterTemplate,
            voterClaims.map((c, i) => claim(`data-zk-${i}`, c.requested, c.capacity)),
          ),
          ...(observerGroup === undefined
            ? []
            : [
                observers(
                  observerGroup.templateSize,
                  observerGroup.claims.map((c, i) => claim(`data-zk-observer-${i}`, c.requested, c.capacity)),
                ),
              ]),
        ].map((group) => ({ ...group, claims: group.claims.map((c) => ({ ...c })) }));
        const atLeast = (quantity: string | undefined) => parseQuantity(quantity ?? '0') >= parseQuantity(desiredSize);
        const everyClaim = () => groups.flatMap((group) => group.claims);
        const shrink = groups.some((group) => parseQuantity(desiredSize) < parseQuantity(group.templateSize ?? '0'));
        const recreated: string[] = [];
        for (let step = 0; step < 12; step++) {
          const next = nextStorageStep(input({ desiredSize, groups }));
          switch (next.kind) {
            case 'done':
              t.false(shrink);
              t.true(
                groups.every((group) => atLeast(group.templateSize)),
                'every template at least the new size',
              );
              t.true(everyClaim().every((c) => atLeast(c.requested) && atLeast(c.capacity)));
              // Each StatefulSet recreated at most once, the voters' before the observers'.
              t.deepEqual(
                recreated,
                ['zk', 'zk-observer'].filter((name) => recreated.includes(name)),
              );
              return true;
            case 'refuseShrink':
              return shrink;
            case 'resizeClaims':
              t.true(next.claims.length > 0);
              for (const c of everyClaim()) if (next.claims.includes(c.name)) c.requested = next.size;
              break;
            case 'recreateStatefulSet': {
              // Only once no claim, voter's or observer's, asks for less than the new template.
              t.true(everyClaim().every((c) => atLeast(c.requested)));
              const group = groups.find((g) => g.statefulSet === next.statefulSet);
              t.not(group, undefined);
              if (group !== undefined) group.templateSize = desiredSize;
              recreated.push(next.statefulSet);
              break;
            }
            case 'waitForVolumes':
              for (const c of everyClaim()) c.capacity = c.requested;
              break;
          }
        }
        return false;
      },
    ),
  );
});

test("the members' claims are every group's, voters' first", (t) => {
  t.deepEqual(
    claimsOf([voters('1Gi', grown('1Gi')), observers('1Gi', grownObserver('1Gi'))]).map((c) => [c.name, c.myid]),
    [
      ['data-zk-0', 1],
      ['data-zk-1', 2],
      ['data-zk-observer-0', 101],
    ],
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
