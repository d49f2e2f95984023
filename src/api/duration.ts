/**
 * Durations in the spec, as Kubernetes writes them (`metav1.Duration`, Go's `time.ParseDuration`)
 * restricted to hours, minutes and seconds: `2160h`, `1h30m`, `90s`. The schema's pattern is
 * `DURATION_PATTERN`, and its CEL rules compare them with `duration()`, which reads the same form.
 */
export const DURATION_PATTERN = '^([0-9]{1,6}h)?([0-9]{1,6}m)?([0-9]{1,6}s)?$';

const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1_000 } as const;

/** Milliseconds of `text`; throws on anything the pattern refuses, naming the value. */
export function parseDuration(text: string): number {
  const match = new RegExp(DURATION_PATTERN).exec(text);
  if (match === null || text === '') {
    throw new Error(`"${text}" is not a duration (expected hours, minutes and seconds, e.g. 2160h or 1h30m)`);
  }
  const [, h, m, s] = match;
  return [
    [h, UNIT_MS.h],
    [m, UNIT_MS.m],
    [s, UNIT_MS.s],
  ].reduce(
    (total, [part, unit]) => total + (part === undefined ? 0 : Number.parseInt(String(part), 10) * Number(unit)),
    0,
  );
}
