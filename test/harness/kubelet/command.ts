// Runs host commands (ip, nsenter, cp, chown) for the process kubelet and turns a failure
// into an error that names the command, its exit status and what it printed.
import { execFile } from 'node:child_process';

export interface CommandResult {
  stdout: string;
  stderr: string;
}

/** Runs `file args…` to completion; rejects with the command line and its output when it fails. */
export function runCommand(file: string, args: readonly string[]): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        const status = error.code ?? error.signal ?? 'unknown';
        const output = `${stderr}${stdout}`.trim();
        reject(new Error(`\`${[file, ...args].join(' ')}\` failed (${status}): ${output || error.message}`));
        return;
      }
      resolve({ stdout, stderr });
    });
  });
}
