/**
 * The chart's monitoring pack against promtool (built by `test/controlplane/install.sh promtool`
 * into the binary cache): the alert rules load (`promtool check rules`), each alert fires on the
 * series it is about and stays quiet otherwise (`promtool test rules`, test/monitoring/), and every
 * operator metric the rules and the dashboard name is one the operator exports.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { clusterGauges } from '../../../src/runtime/cluster-gauges.js';
import { OperatorMetrics } from '../../../src/runtime/metrics.js';
import { binaryCacheDir } from '../../harness/binaries.js';
import { repoPath } from '../../harness/repo.js';

const run = promisify(execFile);
const RULES = repoPath('helm/zookeeper-operator/files/monitoring/zookeeper-rules.yaml');
const DASHBOARD = repoPath('helm/zookeeper-operator/files/monitoring/zookeeper-dashboard.json');
const RULE_TESTS = repoPath('test/monitoring/zookeeper-rules.test.yaml');

function promtool(): string {
  if (process.env.PROMTOOL) return process.env.PROMTOOL;
  const versions = readFileSync(repoPath('test/controlplane/versions.env'), 'utf8');
  const version = /^PROMETHEUS_VERSION=(\S+)$/m.exec(versions)?.[1];
  if (!version) throw new Error('test/controlplane/versions.env has no PROMETHEUS_VERSION');
  return join(binaryCacheDir(), `promtool-${version}`, 'bin', 'promtool');
}

async function runPromtool(args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(promtool(), args, { cwd: repoPath('.') });
    return stdout + stderr;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(
      `promtool ${args.join(' ')} failed (run test/controlplane/install.sh promtool if it is missing):\n${stdout ?? ''}${stderr ?? String(error)}`,
    );
  }
}

test('promtool check rules accepts every alert rule', async (t) => {
  const output = await runPromtool(['check', 'rules', RULES]);
  t.regex(output, /SUCCESS: 11 rules found/);
});

test('promtool test rules: each alert fires on its condition and stays quiet on the look-alikes', async (t) => {
  const output = await runPromtool(['test', 'rules', RULE_TESTS]);
  t.regex(output, /SUCCESS/);
  t.notRegex(output, /FAILED/);
});

test('every operator metric the rules and the dashboard name is exported by the operator', async (t) => {
  const metrics = new OperatorMetrics({ processMetrics: false });
  clusterGauges(metrics);
  const exported = new Set((await metrics.registry.getMetricsAsJSON()).map((metric) => metric.name));
  const named = new Set(
    [readFileSync(RULES, 'utf8'), readFileSync(DASHBOARD, 'utf8')].flatMap((text) =>
      [...text.matchAll(/\b(zookeeper_cluster_[a-z_]+|controller_runtime_[a-z_]+)\b/g)].map(
        (match) => match[1] as string,
      ),
    ),
  );
  t.true(named.size >= 8, [...named].join(' '));
  for (const name of named) t.true(exported.has(name), `${name} is not exported`);
});
