/**
 * Checks of a spec that the CRD schema cannot express, and warnings about specs that are
 * valid but risky. Errors stop every disruptive action (reported in status and Events);
 * warnings are only reported.
 */
import { SUPPORTED_MINOR_VERSIONS } from './constants.js';
import { parseQuantity, resolveSpec } from './defaults.js';
import type { ZooKeeperClusterSpec } from './types.js';

export interface SpecProblem {
  /** CamelCase, for condition reasons and Events. */
  reason: string;
  /** What is wrong and what to do, naming the field. */
  message: string;
}

export interface SpecReview {
  errors: SpecProblem[];
  warnings: SpecProblem[];
}

/** The ZooKeeper version an image tag names (`zookeeper:3.9.4-jre-17` → `3.9.4`), if it names one. */
export function imageVersion(image: string): string | undefined {
  const tag = /:([^/:@]+)(@.*)?$/.exec(image)?.[1];
  return tag === undefined ? undefined : /^([0-9]+\.[0-9]+(?:\.[0-9]+)?)(?:$|-)/.exec(tag)?.[1];
}

export function reviewSpec(spec: ZooKeeperClusterSpec): SpecReview {
  const resolved = resolveSpec(spec);
  const errors: SpecProblem[] = [];
  const warnings: SpecProblem[] = [];

  const memoryLimit = resolved.resources.limits?.memory;
  if (memoryLimit !== undefined && spec.jvm?.heapMiB !== undefined) {
    const limitMiB = parseQuantity(String(memoryLimit)) / 2 ** 20;
    if (spec.jvm.heapMiB >= limitMiB) {
      errors.push({
        reason: 'HeapExceedsMemoryLimit',
        message: `jvm.heapMiB (${spec.jvm.heapMiB} MiB) must be smaller than resources.limits.memory (${memoryLimit}): the JVM needs memory beyond its heap; lower the heap or raise the limit`,
      });
    }
  }

  const version = imageVersion(resolved.image);
  if (
    version !== undefined &&
    !SUPPORTED_MINOR_VERSIONS.some((minor) => version === minor || version.startsWith(`${minor}.`))
  ) {
    errors.push({
      reason: 'UnsupportedVersion',
      message: `image ${resolved.image} is ZooKeeper ${version}; supported are ${SUPPORTED_MINOR_VERSIONS.join(' and ')}`,
    });
  }

  if (resolved.replicas === 2) {
    warnings.push({
      reason: 'TwoMembers',
      message: 'replicas: 2 tolerates no failure and doubles the ways to lose quorum; use 1, 3 or 5',
    });
  } else if (resolved.replicas % 2 === 0) {
    warnings.push({
      reason: 'EvenMembers',
      message: `replicas: ${resolved.replicas} tolerates no more failures than ${resolved.replicas - 1}; an odd number is recommended`,
    });
  }
  if (resolved.storage.ephemeral) {
    warnings.push({
      reason: 'EphemeralStorage',
      message:
        resolved.replicas === 1
          ? 'storage.ephemeral with one member loses every znode whenever the pod restarts'
          : 'storage.ephemeral: a member that restarts comes back empty and re-syncs; losing a majority at once loses the data',
    });
  }
  return { errors, warnings };
}
