/**
 * The Dockerfile cannot be built on these machines (no Docker), so its contract is read from the
 * file: one Node 24 slim base for every stage, production dependencies in the final stage, only
 * the runtime files copied in, a numeric non-root user, and a build context that holds what the
 * build copies.
 */
import { readFileSync } from 'node:fs';
import test from 'ava';
import { repoPath } from '../../harness/repo.js';

const PRODUCTION_INSTALL = 'scripts/install-production-deps.sh';

interface Stage {
  base: string;
  name: string | undefined;
  instructions: string[];
}

/** The Dockerfile's stages, with continuation lines joined and comments dropped. */
function stages(): Stage[] {
  const lines = readFileSync(repoPath('Dockerfile'), 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const result: Stage[] = [];
  for (const line of lines) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?$/i.exec(line);
    if (from) result.push({ base: from[1] as string, name: from[2], instructions: [] });
    else result.at(-1)?.instructions.push(line);
  }
  return result;
}

const finalStage = (): Stage => {
  const last = stages().at(-1);
  if (!last) throw new Error('the Dockerfile has no stage');
  return last;
};

test('every stage builds on node:24-slim or on an earlier stage', (t) => {
  const names = new Set<string>();
  for (const stage of stages()) {
    t.true(stage.base === 'node:24-slim' || names.has(stage.base), `FROM ${stage.base}`);
    if (stage.name) names.add(stage.name);
  }
});

test('the final stage copies only dist/, crds/, package.json and the production node_modules', (t) => {
  const copies = finalStage().instructions.filter((line) => line.startsWith('COPY'));
  t.deepEqual(copies.sort(), [
    'COPY --from=build /src/dist ./dist',
    'COPY --from=deps /src/node_modules ./node_modules',
    'COPY crds ./crds',
    'COPY package.json ./',
  ]);
  const deps = stages().find((stage) => stage.name === 'deps');
  t.true(
    deps?.instructions.includes(`RUN sh ${PRODUCTION_INSTALL}`),
    'the deps stage installs through the script the production-install test runs',
  );
  const script = readFileSync(repoPath(PRODUCTION_INSTALL), 'utf8');
  t.regex(script, /^npm ci --omit=dev /m, 'from the lockfile, production dependencies only');
  t.regex(script, /^npm ci .*--ignore-scripts/m, 'no dependency runs an install script');
});

test('the image runs as a numeric non-root user and starts dist/main.js', (t) => {
  const instructions = finalStage().instructions;
  const user = instructions.find((line) => line.startsWith('USER'));
  const uid = Number(/^USER\s+(\d+)/.exec(user ?? '')?.[1]);
  t.true(uid > 0, `${user}: runAsNonRoot can verify only a numeric, non-zero user`);
  t.true(
    instructions.includes('ENTRYPOINT ["node", "--max-semi-space-size=4", "--memory-saver-mode", "/app/dist/main.js"]'),
  );
});

test('.dockerignore lets in exactly what the build copies from the context', (t) => {
  const allowed = readFileSync(repoPath('.dockerignore'), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('!'))
    .map((line) => line.slice(1).replace(/\/$/, ''))
    .sort();
  const copied = stages()
    .flatMap((stage) => stage.instructions)
    .filter((line) => line.startsWith('COPY') && !line.includes('--from'))
    .flatMap((line) => line.split(/\s+/).slice(1, -1))
    .map((source) => source.replace(/\/$/, ''));
  t.deepEqual([...new Set(copied)].sort(), allowed);
});
