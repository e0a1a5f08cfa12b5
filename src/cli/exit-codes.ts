// The one map from what went wrong to the exit code, imported by cli/main.ts alone. The table every
// `--help` ends with, and README.md's "Exit codes" section (a unit test holds them equal), come from it.
import type { ErrorKind } from '../util/errors.js';
import type { Outcome } from './outcome.js';

/** An exit code and what it means: `help` in `--help`, `readme` in README.md. */
type Meaning = { code: number; help: string; readme: string };

const SUCCESS: Meaning = { code: 0, help: 'success', readme: 'success' };

/** Each error kind's exit code; no two kinds share one. */
export const EXIT_CODES = {
  problem: {
    code: 1,
    help: 'a problem was found (invalid spec, out-of-date file, refused overwrite, a file that cannot be written, an unforeseen error)',
    readme: "a problem was found: invalid spec, stale generated file, refused overwrite, a confirmation answered no (`restore`, `upgrade`, `rollback`, `exec`'s VACUUM FULL; `upgrade` and `rollback` exited 130 until 2026-11-29), a file that cannot be written (read-only file system, permissions, full disk); also an error phase-compose did not foresee, printed with a request to report it",
  },
  usage: {
    code: 2,
    help: 'usage error (unknown option, a missing or bad option value, missing file)',
    readme: 'usage error: unknown option, an option without its value or with a bad one (`--timeout abc`, `--retain -1`, `-p ../x`: a project name matches `[a-z0-9][a-z0-9_-]*`), `init --dir` naming a file, missing spec; found before anything touches Docker or the disk',
  },
  docker: { code: 3, help: 'Docker or Compose cannot be reached', readme: 'Docker or Compose cannot be reached' },
  failed: {
    code: 4,
    help: 'a service or job failed (a migration exited non-zero, a service turned unhealthy)',
    readme: 'a service or job failed (a migration exited non-zero, a service turned unhealthy); also a request the Docker Engine refused midway (a container paused or removed meanwhile), which was an unexpected error (1) until 2026-11-28',
  },
  timeout: { code: 5, help: 'timed out waiting', readme: 'timed out waiting' },
  locked: { code: 6, help: 'another phase-compose run holds the project\'s lock', readme: 'another `phase-compose` run holds the project\'s lock' },
  'not-found': { code: 7, help: 'not found: the organisation or app named does not exist', readme: 'not found: the organisation or app named to `exec` does not exist' },
  interrupted: { code: 130, help: 'interrupted (Ctrl-C, or SIGTERM or SIGHUP during up, migrate, upgrade, rollback, backup, restore or exec)', readme: 'interrupted (Ctrl-C; SIGTERM, or SIGHUP from a closed terminal (before 2026-11-28 it killed phase-compose at once), during `up`, `migrate`, `upgrade`, `rollback`, `backup`, `restore` or `exec`, which then end as on Ctrl-C; `exec` passes it to the task in its container; Ctrl-C or Ctrl-D at a prompt: `init`\'s questions, the passphrase, and the confirmation of `restore`, `upgrade`, `rollback` and `exec`\'s tasks, which exited 1 as an unexpected error until 2026-11-27)' },
} as const satisfies Record<ErrorKind, Meaning>;

/** What an error nobody foresaw leaves with: a problem (1), with a request to report it. */
export const UNEXPECTED: ErrorKind = 'problem';

/** The codes a child process's own exit code may take instead: the one exception, said under both tables. */
const PASS_THROUGH = {
  help: '(exec <task>, exec run and exec shell leave with the task\'s or shell\'s own exit code; 128 + n when signal n killed it)',
  readme: '`exec <task>`, `exec run` and `exec shell` exit with the task\'s or the shell\'s own exit code (128 + n when\nsignal n killed it); nothing else uses a code outside this table.',
};

/** The exit code `o` leaves with. */
export function exitCodeOf(o: Outcome): number {
  if (o.status === 'ok') return SUCCESS.code;
  if (o.status === 'child') return o.exitCode;
  return EXIT_CODES[o.kind].code;
}

/** Success, then every kind's code in ascending order. */
const rows = (): Meaning[] => [SUCCESS, ...Object.values(EXIT_CODES).sort((a, b) => a.code - b.code)];

/** The table every command's `--help` ends with; the pass-through note sits above the signal codes (128 and up). */
export function helpTable(): string {
  const all = rows();
  const lines = all.map((m) => `${String(m.code).padEnd(5)}${m.help}`);
  const signals = all.findIndex((m) => m.code >= 128);
  lines.splice(signals < 0 ? lines.length : signals, 0, PASS_THROUGH.help);
  return `Exit codes:\n${lines.map((l) => `  ${l}`).join('\n')}`;
}

/** What output that cannot be written does to the code (cli/io.ts afterLostOutput): said in README.md only. */
const LOST_OUTPUT = `Output that cannot be written does not stop a command midway. When the reader goes away
(\`phase-compose restore FILE --yes | head -1\`, a closed terminal), the command runs to its end and
exits with its own code; until 2026-11-28 the first line written after that killed phase-compose
wherever it was, and a restore left the app stopped. When stdout is short for another reason (a full
disk under \`> file\`), a command that succeeded exits 1 and says so on stderr.`;

/** README.md's "Exit codes" section body: the table, the pass-through note and what lost output does. */
export function readmeTable(): string {
  const lines = rows().map((m) => `| ${m.code} | ${m.readme} |`);
  return `| code | meaning |\n|---|---|\n${lines.join('\n')}\n\n${PASS_THROUGH.readme}\n\n${LOST_OUTPUT}`;
}
