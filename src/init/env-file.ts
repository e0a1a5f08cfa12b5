// Reading and updating a .env file the way dotenv and Compose read it. Pure.
import dotenv from 'dotenv';

/**
 * Parses an env file (`export KEY=`, quotes, comments, multi-line values) with dotenv, reading an unquoted
 * value as Compose does: it ends at a `#` after whitespace, and a `#` anywhere else is part of it
 * (compose-go and python-dotenv alike: `KEY=#Xk9` and `KEY=ab#cd` are "#Xk9" and "ab#cd"). dotenv cuts
 * at any `#`: until 2026-11-28 `init --force` read such a database password as empty and replaced it,
 * and `--with-secrets` wrote cut values into the Kubernetes Secret.
 */
export function parseEnvFile(text: string): Record<string, string> {
  const parsed = dotenv.parse(text);
  let open: string | undefined; // the quote of a value that runs on to later lines
  for (const line of text.split(/\r?\n/)) {
    if (open) {
      if (line.includes(open)) open = undefined;
      continue;
    }
    const m = UNQUOTED_OR_QUOTED.exec(line);
    if (!m) continue;
    const [, key, raw] = m as unknown as [string, string, string];
    const q = raw[0];
    if (q === '"' || q === "'" || q === '`') {
      if (!raw.slice(1).includes(q)) open = q;
      continue;
    }
    if (!(key in parsed)) continue;
    const cut = raw.search(/\s#/);
    parsed[key] = (cut >= 0 ? raw.slice(0, cut) : raw).trim();
  }
  return parsed;
}
const UNQUOTED_OR_QUOTED = /^\s*(?:export\s+)?([\w.-]+)\s*=[ \t]*(.*)$/;

// Read the same, bare, by dotenv, Compose v2 (compose-go) and Compose 1.29 (python-dotenv): no `#`,
// quotes, `$`, spaces or backslashes.
const BARE = /^[A-Za-z0-9_./:@+,%=-]*$/;

/**
 * A value as written after `KEY=`, so that dotenv and every Compose read it back unchanged: bare when
 * safe, else in single quotes (literal in all three). A value that no quoting keeps identical in all
 * of them (a newline, a single quote, a backslash) is refused.
 */
export function formatEnvValue(value: string): string {
  if (BARE.test(value)) return value;
  if (!/['\\\n\r]/.test(value)) return `'${value}'`;
  throw new Error(`the value ${JSON.stringify(value)} cannot be written to an env file so that dotenv and Compose read it alike (newline, quote or backslash)`);
}

const DEFINES = /^\s*(?:export\s+)?([\w.-]+)\s*=/;

/**
 * Updates an existing env file: every line is kept as it was (extra keys, comments, quoting), except
 * that the keys in `set` get the new value; keys of `add` that the file lacks are appended. Throws
 * when the result would not parse to exactly the old entries plus the changes.
 */
export function mergeEnvFile(existing: string, set: Record<string, string>, add: Record<string, string>, note: string): string {
  const old = parseEnvFile(existing);
  const lines = existing.replace(/\n$/, '').split('\n').map((line) => {
    const key = DEFINES.exec(line)?.[1];
    return key !== undefined && key in set ? `${key}=${formatEnvValue(set[key]!)}` : line;
  });
  const missing = Object.entries({ ...add, ...set }).filter(([k]) => !(k in old) && !lines.some((l) => DEFINES.exec(l)?.[1] === k));
  if (missing.length) lines.push('', `# ${note}`, ...missing.map(([k, v]) => `${k}=${formatEnvValue(v)}`));
  const merged = `${lines.join('\n')}\n`;
  return checkedEdit(merged, { ...Object.fromEntries(Object.entries(add).filter(([k]) => !(k in old))), ...old, ...set });
}

/** `text`, once it parses to exactly the entries `want`: a line-by-line edit that did what it meant. */
function checkedEdit(text: string, want: Record<string, string>): string {
  const got = parseEnvFile(text);
  const same = Object.keys(want).length === Object.keys(got).length && Object.entries(want).every(([k, v]) => got[k] === v);
  if (!same) throw new Error('the existing .env could not be updated line by line (a quoted value spanning lines?)');
  return text;
}

/**
 * Removes the lines that define `keys` from an env file, every other line kept; a `# note` line (with the
 * blank line before it) that mergeEnvFile wrote above them goes with them when nothing else follows it.
 * Throws when the result would not parse to exactly the old entries less those keys.
 */
export function removeEnvKeys(existing: string, keys: readonly string[], note: string): string {
  const old = parseEnvFile(existing);
  const lines = existing.replace(/\n$/, '').split('\n').filter((line) => !keys.includes(DEFINES.exec(line)?.[1] ?? ''));
  if (lines.at(-1) === `# ${note}`) lines.splice(lines.at(-2) === '' ? -2 : -1);
  return checkedEdit(lines.length ? `${lines.join('\n')}\n` : '', Object.fromEntries(Object.entries(old).filter(([k]) => !keys.includes(k))));
}