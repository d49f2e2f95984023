/** docs/reliability.md shows exactly the catalogues the tests run, and every test it cites exists. */
import { readFileSync } from 'node:fs';
import test from 'ava';
import { repoPath } from '../../harness/repo.js';
import { BAD_INPUTS, badInputTable, type TestRef } from '../../support/bad-input-catalogue.js';
import { FAULTS, faultTable } from '../../support/fault-catalogue.js';

const doc = readFileSync(repoPath('docs/reliability.md'), 'utf8');

/** The text between `<!-- name:start -->` and `<!-- name:end -->`. */
function block(name: string): string {
  const match = new RegExp(`<!-- ${name}:start -->\\n([\\s\\S]*?)\\n<!-- ${name}:end -->`).exec(doc);
  if (match === null) throw new Error(`docs/reliability.md has no ${name} block`);
  return match[1] as string;
}

test('the bad-input table is the catalogue the CRD test submits (regenerate with scripts/render-reliability.ts)', (t) => {
  t.is(block('bad-inputs'), badInputTable());
});

test('the fault table is the catalogue of e2e faults (regenerate with scripts/render-reliability.ts)', (t) => {
  t.is(block('faults'), faultTable());
});

test('the catalogue holds at least 40 bad inputs, each with its own input', (t) => {
  t.true(BAD_INPUTS.length >= 40, `${BAD_INPUTS.length} cases`);
  t.is(new Set(BAD_INPUTS.map((c) => c.input)).size, BAD_INPUTS.length);
});

const cited = new Map<string, TestRef>(
  [
    ...BAD_INPUTS.flatMap((c) => (c.stoppedAt === 'operator' ? [c.provedBy] : [])),
    ...FAULTS.map((f) => f.provedBy),
  ].map((ref) => [`${ref.file}: ${ref.titleContains}`, ref]),
);
for (const ref of cited.values()) {
  test(`the cited test exists: ${ref.file}: ${ref.titleContains}`, (t) => {
    t.true(readFileSync(repoPath(ref.file), 'utf8').includes(ref.titleContains));
  });
}
