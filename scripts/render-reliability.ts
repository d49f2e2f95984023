/** Rewrites the generated tables of docs/reliability.md from the catalogues the tests run. */
import { readFileSync, writeFileSync } from 'node:fs';
import { badInputTable } from '../test/support/bad-input-catalogue.js';
import { faultTable } from '../test/support/fault-catalogue.js';

const path = new URL('../docs/reliability.md', import.meta.url);
let doc = readFileSync(path, 'utf8');
for (const [name, table] of [
  ['bad-inputs', badInputTable()],
  ['faults', faultTable()],
] as const) {
  doc = doc.replace(
    new RegExp(`(<!-- ${name}:start -->)[\\s\\S]*?(<!-- ${name}:end -->)`),
    (_, start: string, end: string) => `${start}\n${table}\n${end}`,
  );
}
writeFileSync(path, doc);
console.log(`wrote ${path.pathname}`);
