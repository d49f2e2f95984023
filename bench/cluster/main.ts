/**
 * The control-plane benchmark suite (`make bench`): the local control plane with the process
 * kubelet and real ZooKeeper (installed by `make test` / `make controlplane`), the production
 * build of the operator, and the benchmarks run one after another. Writes
 * `bench/results/<start time>/results.json` and `summary.md` (and `bench/results/latest.*`),
 * and prints the summary. A full run (no --only) also publishes: docs/benchmarks.json and the
 * results block of docs/benchmarks.md (a unit test holds the two together).
 *
 *   node --import=tsx bench/cluster/main.ts [--only roll,scaling,reactions,quiet]
 *   node --import=tsx bench/cluster/main.ts --render-docs   # docs/benchmarks.md again from its JSON
 *
 * A benchmark whose own check fails (a roll that did not finish, a lost write) fails the run.
 * ZKOP_TEST_CONTROL_PLANE=<ready file> runs against a `make dev-cluster` already up; otherwise
 * a control plane is started for this run and stopped at its end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, release, tmpdir, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { controlPlane } from '../../test/harness/fixture.js';
import { pollUntil } from '../../test/harness/poll.js';
import { readReadyFile } from '../../test/harness/ready-file.js';
import { repoPath } from '../../test/harness/repo.js';
import { auditPolicy, quietBenchmark } from './quiet.js';
import { reactionBenchmark } from './reactions.js';
import { type RollResult, rollBenchmark } from './roll.js';
import { scalingBenchmark } from './scaling.js';
import { type BenchResults, publishSummary, renderSummary } from './summary.js';

const BENCHMARKS = ['roll', 'scaling', 'reactions', 'quiet'] as const;
type Benchmark = (typeof BENCHMARKS)[number];

const log = (line: string) => process.stderr.write(`bench: ${new Date().toISOString().slice(11, 19)} ${line}\n`);

interface OwnControlPlane {
  devCluster: ChildProcess;
  runDir: string;
  auditLog: string;
}

/**
 * Starts dev-cluster.ts for this run (tied to this process), with kube-apiserver's audit log on,
 * and points the test helpers at it.
 */
async function startControlPlane(): Promise<OwnControlPlane | undefined> {
  if (process.env.ZKOP_TEST_CONTROL_PLANE) return undefined;
  const runDir = await mkdtemp(join(tmpdir(), 'zkop-bench-'));
  const readyFile = join(runDir, 'control-plane.json');
  const auditLog = join(runDir, 'audit.log');
  await writeFile(join(runDir, 'audit-policy.yaml'), auditPolicy);
  const devCluster = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      repoPath('test/harness/dev-cluster.ts'),
      '--ready-file',
      readyFile,
      '--stop-when-pid-exits',
      String(process.pid),
      `--apiserver-arg=--audit-policy-file=${join(runDir, 'audit-policy.yaml')}`,
      `--apiserver-arg=--audit-log-path=${auditLog}`,
    ],
    { cwd: repoPath(''), stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const ready = await pollUntil('the control plane to start', () => readReadyFile(readyFile), {
    timeoutMs: 300_000,
    intervalMs: 500,
    abortIf: async () =>
      devCluster.exitCode === null ? undefined : new Error(`dev-cluster exited with ${devCluster.exitCode}`),
  });
  if (ready.state === 'failed') throw new Error(`the control plane did not start: ${ready.error}`);
  process.env.ZKOP_TEST_CONTROL_PLANE = readyFile;
  return { devCluster, runDir, auditLog };
}

async function stopControlPlane(started: OwnControlPlane | undefined): Promise<void> {
  if (started === undefined) return;
  const { devCluster, runDir } = started;
  if (devCluster.exitCode === null) {
    const exited = new Promise((resolve) => devCluster.once('exit', resolve));
    devCluster.kill('SIGTERM');
    await exited;
  }
  await rm(runDir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string', default: BENCHMARKS.join(',') },
      'render-docs': { type: 'boolean', default: false },
    },
  });
  if (values['render-docs']) {
    // After a change to the summary's wording: the published results, rendered again, without a run.
    const results = JSON.parse(await readFile(repoPath('docs/benchmarks.json'), 'utf8')) as BenchResults;
    const doc = repoPath('docs/benchmarks.md');
    await writeFile(doc, publishSummary(await readFile(doc, 'utf8'), renderSummary(results)));
    return;
  }
  const selected = new Set(values.only.split(',').map((name) => name.trim()));
  for (const name of selected) {
    if (!(BENCHMARKS as readonly string[]).includes(name)) {
      throw new Error(`--only takes ${BENCHMARKS.join(', ')}; got "${name}"`);
    }
  }
  const runs = (name: Benchmark) => selected.has(name);
  const startedAt = new Date().toISOString();
  const resultsDir = repoPath(`bench/results/${startedAt.replace(/[:.]/g, '-')}`);
  await mkdir(resultsDir, { recursive: true });

  const started = await startControlPlane();
  try {
    const plane = await controlPlane();
    const rolls: RollResult[] = [];
    if (runs('roll')) {
      for (const members of [3, 5]) {
        for (const strategy of ['statefulset', 'operator', 'handoff'] as const) {
          rolls.push(await rollBenchmark(strategy, members, resultsDir, log));
          log(`roll ${strategy} ${members}: ${JSON.stringify(rolls.at(-1))}`);
        }
      }
    }
    const scaling = runs('scaling') ? await scalingBenchmark(resultsDir, log) : undefined;
    const reactions = runs('reactions') ? await reactionBenchmark(resultsDir, log) : undefined;
    const quiet = runs('quiet') ? await quietBenchmark(started?.auditLog, resultsDir, log) : undefined;
    const results: BenchResults = {
      startedAt,
      finishedAt: new Date().toISOString(),
      machine: {
        cpu: cpus()[0]?.model.trim() ?? 'unknown',
        cores: cpus().length,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        os: `${type()} ${release()}`,
        node: process.versions.node,
        kubernetes: plane.binaries.versions.kubernetes,
        zookeeper: rolls[0]?.zookeeperVersion ?? 'unknown',
      },
      rolls,
      ...(scaling === undefined ? {} : { scaling }),
      ...(reactions === undefined ? {} : { reactions }),
      ...(quiet === undefined ? {} : { quiet }),
    };
    const summary = renderSummary(results);
    const json = `${JSON.stringify(results, null, 2)}\n`;
    await writeFile(join(resultsDir, 'results.json'), json);
    await writeFile(join(resultsDir, 'summary.md'), summary);
    await writeFile(repoPath('bench/results/latest.json'), json);
    await writeFile(repoPath('bench/results/latest.md'), summary);
    if (selected.size === BENCHMARKS.length) {
      // A full run is what the docs show: its results, and the summary rendered from them.
      await writeFile(repoPath('docs/benchmarks.json'), json);
      const doc = repoPath('docs/benchmarks.md');
      await writeFile(doc, publishSummary(await readFile(doc, 'utf8'), summary));
    }
    process.stdout.write(`${summary}\nResults: ${resultsDir}/results.json, summary.md (and bench/results/latest.*)\n`);
  } finally {
    await stopControlPlane(started);
  }
}

await main();
