// Quoting for the few places that must hand a string to a shell (CMD-SHELL healthchecks).

/** Quotes one word for POSIX sh. */
export function shQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Escapes `$` so Compose does not interpolate it (`$` → `$$`). */
export function composeEscape(s: string): string {
  return s.replace(/\$/g, '$$$$');
}
