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
  // Only each key's last definition counts, as in dotenv and Compose (until 2026-11-28 an earlier bare
  // `K=old` beat a later `K='new'`).
  for (const e of lastEnvEntries(text)) {
    if (e.quote || !(e.key in parsed)) continue;
    const cut = e.raw.search(/\s#/);
    parsed[e.key] = (cut >= 0 ? e.raw.slice(0, cut) : e.raw).trim();
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

/** One `KEY=` definition as written: its raw value (after `=`, quotes kept) and its lines (a quoted value may span several). */
export type EnvEntry = { key: string; raw: string; quote: '"' | "'" | '`' | undefined; first: number; last: number };

/** The definitions of an env file in order, as written (the last of a key is the one read). Pure. */
export function envEntries(text: string): EnvEntry[] {
  const lines = text.split(/\r?\n/);
  const out: EnvEntry[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = UNQUOTED_OR_QUOTED.exec(lines[i]!);
    if (!m || /^\s*#/.test(lines[i]!)) continue;
    const [, key, value] = m as unknown as [string, string, string];
    const q = value[0];
    const quote = q === '"' || q === "'" || q === '`' ? q : undefined;
    let last = i;
    let raw = value;
    if (quote && !value.slice(1).includes(quote)) {
      // A quoted value that runs on to later lines, up to the line holding its closing quote.
      while (last + 1 < lines.length) {
        raw += `\n${lines[++last]!}`;
        if (lines[last]!.includes(quote)) break;
      }
    }
    out.push({ key, raw, quote, first: i, last });
    i = last;
  }
  return out;
}

/** Each key's last definition, the one dotenv and Compose read, in file order. Pure. */
export function lastEnvEntries(text: string): EnvEntry[] {
  return [...new Map(envEntries(text).map((e) => [e.key, e])).values()].sort((a, b) => a.first - b.first);
}

/**
 * Why Compose may read `e`'s value otherwise than dotenv (and so phase-compose) does, or undefined. Pure.
 * Checked with both Compose versions (2026-11-28): a `$` outside single quotes is expanded (Compose 2.26
 * reads `pa$word` as "pa" and `pa$$word` as "pa$word"; Compose 1.29 expands only `${...}`, and even in
 * single quotes); in double quotes both read `\"`, `\\` and `\n` as escapes, dotenv only `\n`.
 */
export function envValueAmbiguity(e: Pick<EnvEntry, 'raw' | 'quote'>): string | undefined {
  if (e.quote === '`') return 'a value in backquotes, which Compose does not read as dotenv does';
  if (e.quote !== "'" && e.raw.includes('$')) return 'a `$`, which Compose expands (a variable, or `$$`), and Compose 1.29 and 2 differently';
  if (e.quote === '"' && e.raw.includes('\\')) return 'a backslash in double quotes, an escape to Compose (`\\"`, `\\\\`) that dotenv keeps';
  if (e.quote === "'" && e.raw.includes('${')) return 'a `${` in single quotes, which Compose 1.29 still expands';
  return undefined;
}

/** Whether `e`'s value refers to other variables, which Compose expands (a copy of its line alone would lose them). Pure. */
export function refersToVariables(e: Pick<EnvEntry, 'raw' | 'quote'>): boolean {
  return e.quote === "'" ? e.raw.includes('${') : /\$[{A-Za-z_]/.test(e.raw.replace(/\$\$/g, ''));
}

/** `keys`' last definitions in `text`, as written (every line of each, in file order). Pure. */
export function pickEnvLines(text: string, keys: readonly string[]): { lines: string[]; entries: EnvEntry[] } {
  const all = text.split(/\r?\n/);
  const entries = lastEnvEntries(text).filter((e) => keys.includes(e.key));
  return { lines: entries.flatMap((e) => all.slice(e.first, e.last + 1)), entries };
}
