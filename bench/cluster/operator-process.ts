/**
 * The production build of the operator (`dist/main.js`, from `npm run build`) as its own
 * process, with the Node flags of the image's ENTRYPOINT, authenticated as the operator's user
 * under the chart's RBAC, watching one namespace.
 * Its JSON log goes to a file next to the results.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { imageNodeFlags } from '../../test/harness/image.js';
import { repoPath } from '../../test/harness/repo.js';
import { operatorKubeconfig } from '../../test/support/operator.js';

export interface OperatorProcess {
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function startProductionOperator(namespace: string, logFile: string): Promise<OperatorProcess> {
  const entry = repoPath('dist/main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build first (make bench does)`);
  const log = openSync(logFile, 'a');
  const child = spawn(
    repoPath('node_modules/.bin/node'),
    [...imageNodeFlags(), entry, `--namespaces=${namespace}`, '--probe-address=127.0.0.1:0', '--log-format=json'],
    {
      env: { ...process.env, KUBECONFIG: await operatorKubeconfig(), NODE_ENV: 'production' },
      stdio: ['ignore', log, log],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
