/**
 * The file dev-cluster.ts writes (`--ready-file`) once its control plane is up, or with the
 * reason it could not start. Readers (scripts, the shared ava fixture, ZKOP_TEST_CONTROL_PLANE)
 * attach to the control plane it describes. Written atomically (temp file + rename), so a
 * reader never sees half a file.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { ControlPlaneDescription } from './controlplane.js';

export type ReadyFile =
  | { readonly state: 'ready'; readonly pid: number; readonly controlPlane: ControlPlaneDescription }
  | { readonly state: 'failed'; readonly pid: number; readonly error: string };

export async function writeReadyFile(path: string, content: ReadyFile): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(content, null, 2)}\n`);
  await rename(temporary, path);
}

/** The file's content, or `undefined` while it does not exist. */
export async function readReadyFile(path: string): Promise<ReadyFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const content = JSON.parse(text) as ReadyFile;
  if (content.state !== 'ready' && content.state !== 'failed') {
    throw new Error(
      `${path} is not a dev-cluster ready file (state ${JSON.stringify((content as { state?: unknown }).state)})`,
    );
  }
  return content;
}
