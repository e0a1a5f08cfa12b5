// Durations like `1m30s` ↔ milliseconds.

const UNIT: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * The longest duration, in milliseconds: Go's time.Duration (int64 nanoseconds, 2562047h47m16s), what
 * Compose and the Engine read a healthcheck's timing into. Past it, a value was written as `3.6e+29ms`,
 * which no Compose reads.
 */
export const MAX_DURATION_MS = 9_223_372_036_854;

/** Parses `500ms`, `5s`, `1m30s`, `2h`, `1d` (at most MAX_DURATION_MS in all); throws on anything else. */
export function parseDuration(s: string): number {
  const re = /([0-9]+)(ms|s|m|h|d)/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(s))) {
    total += Number(m[1]) * UNIT[m[2]!]!;
    end = re.lastIndex;
  }
  if (!s || end !== s.length) throw new Error(`not a duration: ${JSON.stringify(s)} (use e.g. 500ms, 5s, 1m30s, 2h)`);
  if (!(total <= MAX_DURATION_MS)) throw new Error(`too long a duration: ${JSON.stringify(s)} (at most 2562047h, the longest Compose reads)`);
  return total;
}

/** Why `s` is not a duration parseDuration takes, or undefined. */
export function durationProblem(s: string): string | undefined {
  try {
    parseDuration(s);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Formats milliseconds the way Compose (Go durations) reads them: `1m30s`, `500ms`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms % 1000) return `${ms}ms`;
  let s = ms / 1000;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}`;
}

/** A duration given on the command line: like parseDuration, and a bare number means seconds (`--timeout 120`). */
export function parseCliDuration(s: string): number {
  return /^\d+$/.test(s) ? parseDuration(`${s}s`) : parseDuration(s);
}
