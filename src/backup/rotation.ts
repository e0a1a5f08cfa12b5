// Pure rules for backup file names and which old backups to delete.

/** `<project>-20250102T030405Z.dump` (or another extension: archives are `.pcbak`): sorts by time as a string. */
export function backupFileName(project: string, now: Date, ext = '.dump'): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${project}-${stamp}${ext}`;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const STAMPED = (project: string, ext: string) => new RegExp(`^${escapeRe(project)}-\\d{8}T\\d{6}Z${escapeRe(ext)}$`);

/**
 * File names (in one directory) of this project's stamped backups (with extension `ext`) beyond the newest
 * `keep`. `written`, the backup just made, is never one of them and counts as one kept: until 2026-11-28 a
 * clock stepped back (or archives copied in from another host with later stamps) made the new backup
 * the oldest by name, and it was deleted the moment it was written, the command saying where it was.
 */
export function expiredBackups(names: string[], project: string, keep: number, ext = '.dump', written?: string): string[] {
  if (keep < 1) return [];
  const mine = names.filter((n) => n !== written && STAMPED(project, ext).test(n)).sort().reverse();
  return mine.slice(written !== undefined && names.includes(written) ? keep - 1 : keep);
}

/** The `sha256sum`-compatible line written beside a backup. */
export function checksumLine(sha256: string, fileName: string): string {
  return `${sha256}  ${fileName}\n`;
}

/** Parses a `<file>.sha256` line; undefined when it is not one. */
export function parseChecksumLine(text: string): string | undefined {
  return /^([0-9a-f]{64})\s/.exec(text.trim() + ' ')?.[1];
}

/** Tables with data in a `pg_restore --list` table of contents. */
export function countTableData(list: string): number {
  return list.split('\n').filter((l) => !l.startsWith(';') && / TABLE DATA /.test(l)).length;
}
