/** Paths inside the repository checkout, independent of the current working directory. */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The absolute path of `relative` (e.g. `crds`) in the checkout. */
export function repoPath(relative: string): string {
  return join(REPO_ROOT, relative);
}
