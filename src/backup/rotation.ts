// Pure rules for backup file names and which old backups to delete.

/** `<project>-20250102T030405Z.dump`: sorts by time as a string. */
export function backupFileName(project: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${project}-${stamp}.dump`;
}

const STAMPED = (project: string) => new RegExp(`^${project.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-\\d{8}T\\d{6}Z\\.dump$`);

/** File names (in one directory) of this project's stamped backups beyond the newest `keep`. */
export function expiredBackups(names: string[], project: string, keep: number): string[] {
  if (keep < 1) return [];
  const mine = names.filter((n) => STAMPED(project).test(n)).sort().reverse();
  return mine.slice(keep);
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
