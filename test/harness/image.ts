/** What the operator's container image runs, read from the Dockerfile, for tests and benchmarks that run the same. */
import { readFileSync } from 'node:fs';
import { repoPath } from './repo.js';

/** The Node flags of the image's ENTRYPOINT: `["node", ...flags, "/app/dist/main.js"]`. */
export function imageNodeFlags(): string[] {
  const entrypoint = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(readFileSync(repoPath('Dockerfile'), 'utf8'))?.[1];
  const argv = JSON.parse(entrypoint ?? 'null') as string[] | null;
  if (argv?.[0] !== 'node' || !argv.at(-1)?.endsWith('dist/main.js')) {
    throw new Error(`the Dockerfile's ENTRYPOINT is not ["node", ...flags, ".../dist/main.js"]: ${entrypoint}`);
  }
  return argv.slice(1, -1);
}
