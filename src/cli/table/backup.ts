// `phase-compose backup` and `backup verify`: options and help; the implementation is src/cli/commands/backup.ts.
import { defineCommand, stackArgs } from '../command.js';
import { count, zlibLevel } from '../options.js';
import { MIN_PASSPHRASE, PASSPHRASE_ENV } from '../passphrase.js';
import { PhaseComposeError } from '../../util/errors.js';

const load = () => import('../commands/backup.js');

const passphraseFile = { type: 'string', requiresArg: true, normalize: true, describe: `Read the passphrase from the first line of this file (else $${PASSPHRASE_ENV}, else a prompt on a terminal)` } as const;

/**
 * yargs hands `backup`'s own options to its subcommands too; given there, they would be ignored without a
 * word. A usage error instead.
 */
function refuseBackupOptions(args: object, sub: string): void {
  const a = args as { out?: unknown; dir?: unknown; keep?: unknown; encrypt?: unknown; dumpOnly?: unknown; compress?: unknown };
  const given = [
    a.out !== undefined && '--out',
    a.dir !== undefined && '--dir',
    a.keep !== undefined && '--keep',
    a.encrypt === false && '--no-encrypt',
    a.dumpOnly === true && '--dump-only',
    a.compress !== undefined && '--compress',
  ].filter(Boolean);
  if (given.length) throw new PhaseComposeError('usage', `${given.join(', ')} ${given.length === 1 ? 'is' : 'are'} for \`backup\`, not \`backup ${sub}\``);
}

const verify = defineCommand({
  command: 'verify <archive>',
  describe: 'Check an archive: decrypt it, check every sha256, pg_restore --list in a throwaway PostgreSQL container; --deep restores it there and prints row counts',
  builder: (y, exitCodes) =>
    y
      .positional('archive', { type: 'string', describe: 'Archive written by `backup`' })
      .option('deep', { type: 'boolean', default: false, describe: 'Restore into the throwaway container and print the rows of every table' })
      .option('image', { type: 'string', requiresArg: true, describe: 'PostgreSQL image for the throwaway container, e.g. the next major version to try the restore on (default: the archived postgres image, by ID when it is here)' })
      .option('passphrase-file', passphraseFile)
      .example('$0 backup verify backups/phase-20261126T080000Z.pcbak', 'Quick: checksums and the dump\'s table of contents')
      .example('$0 backup verify --deep /mnt/offsite/phase.pcbak', 'A real restore, elsewhere: compare its row counts with production')
      .epilogue(`Needs Docker (the throwaway container has no network and is removed afterwards), but no stack: the
archive alone is enough. Exit 1: wrong passphrase, damaged or truncated archive. The container holds a
copy of the data: Ctrl-C or SIGTERM removes it, with its volume, at once (exit 130).

${exitCodes}`),
  run: async (a, { io }) => (refuseBackupOptions(a, 'verify'), (await load()).runBackupVerify({ archive: String(a.archive), deep: a.deep, image: a.image, passphraseFile: a.passphraseFile }, io)),
});

const schedule = defineCommand({
  command: 'schedule',
  describe: 'Run `backup` on a schedule: write a systemd service and timer for this stack (rotation as backups.keep says)',
  builder: (y, exitCodes) =>
    y
      .option('every', { type: 'string', requiresArg: true, describe: 'How often (at least 15m; default: backups.every in the spec)' })
      .option('passphrase-file', { ...passphraseFile, describe: 'The passphrase for every archive: the first line of this file, which must be yours and private (mode 0600)' })
      .option('unit-dir', { type: 'string', requiresArg: true, normalize: true, describe: 'Where to write the units (default: /etc/systemd/system as root, else ~/.config/systemd/user)' })
      .option('print', { type: 'boolean', default: false, describe: 'Print the two units instead of writing them' })
      .demandOption('passphrase-file', 'a scheduled backup has nobody to ask: pass --passphrase-file FILE (mode 0600)')
      .example('$0 backup schedule --every 24h --passphrase-file /root/phase-backup.key', 'Write phase-compose-backup-<project>.service and .timer, then enable the timer as printed')
      .example('$0 backup schedule --passphrase-file ~/.phase.key --print', 'See the units first (every: backups.every in the spec)')
      .epilogue(`The backup runs on the host, not in a container: it needs the Docker socket, the spec, the env
files and the archive directory. The service runs \`phase-compose backup\` with this stack's spec and
project, by the absolute paths of node and of this phase-compose, and the HOME, DOCKER_CONFIG and
DOCKER_HOST you have now (so Compose and the Engine are the ones you use). Each run writes a stamped
archive into backups.dir and keeps the newest backups.keep, like a plain \`backup\`. The timer starts it
15 minutes after each boot (at once when enabled later than that), then every period after the last
run began: a host that reboots more often than the period still gets its backups. A file there that
phase-compose did not write is never replaced.

${exitCodes}`),
  run: async (a, { io }) => (refuseBackupOptions(a, 'schedule'), (await load()).runBackupSchedule({ ...stackArgs(a), every: a.every, passphraseFile: String(a.passphraseFile), unitDir: a.unitDir, print: a.print }, io)),
});

export default defineCommand({
  command: 'backup',
  describe: 'Back the whole instance up into one encrypted archive: database, env values, spec, generated files, image IDs, migrations',
  builder: (y, exitCodes) =>
    y
      .option('out', { alias: 'o', type: 'string', requiresArg: true, describe: 'File to write, from the current directory (default: <dir>/<project>-<UTC time>.pcbak; never replaced, never rotated)', normalize: true })
      .option('dir', { type: 'string', requiresArg: true, describe: 'Directory for stamped archives, from the current directory (default: backups.dir, else migrations.backup.dir, else backups/, from the spec\'s directory)' })
      .option('keep', { type: 'number', requiresArg: true, coerce: count('keep'), describe: 'Keep the newest N stamped archives (default: backups.keep, else migrations.backup.keep, else 5)' })
      .option('encrypt', { type: 'boolean', default: true, describe: 'Encrypt the archive (--no-encrypt writes it in the clear)' })
      .option('passphrase-file', passphraseFile)
      .option('dump-only', { type: 'boolean', default: false, describe: 'Only the database: a plain pg_dump -Fc file with a .sha256 beside it (what `up` writes before migrations)' })
      .option('compress', { type: 'number', requiresArg: true, coerce: zlibLevel, describe: "pg_dump's zlib level, 0 (none) to 9 (smallest) (default: backups.compress in the spec, else 1, the fastest that compresses; pg_dump alone uses 6)" })
      .example('$0 backup', `Write backups/<project>-<time>.pcbak (passphrase from $${PASSPHRASE_ENV} or asked), read it back, drop the oldest beyond keep`)
      .example('$0 backup --passphrase-file /root/phase-backup.key --out /srv/phase.pcbak', 'A file of your choice')
      .example('$0 backup --compress 6', 'A smaller archive for a slower backup (pg_dump\'s own level)')
      .example('$0 backup verify --deep backups/phase-20261126T080000Z.pcbak', 'Prove an archive restores')
      .epilogue(`The archive is one file (mode 0600, written under a temp name and renamed when complete): a tar
holding phase-compose-backup.json (PostgreSQL version, every image's ID and digest, the applied Django
migrations), stack/ (the spec, the env files or only the keys backups.env lists, the generated files),
the pg_dump -Fc streamed in 8 MiB chunks (db/dump.*; zlib level 1, the fastest, unless --compress or
backups.compress says otherwise), and MANIFEST.json with every member's sha256.
It is encrypted with OpenPGP (RFC 9580: Argon2 passphrase, AES-256-GCM in authenticated chunks); any
RFC 9580 tool opens it, e.g. \`sq decrypt\`. The passphrase: --passphrase-file, else $${PASSPHRASE_ENV},
else asked twice on a terminal; at least ${MIN_PASSPHRASE} characters. Keep it apart from the archives:
without it they cannot be read, and with the env values inside, they open every secret of the instance.
Bring the instance back with \`phase-compose restore FILE\` (into the running stack) or
\`phase-compose restore FILE --dir DIR\` (a new stack from the archive alone, e.g. on a fresh host).

Ctrl-C or SIGTERM (a service manager stopping the scheduled run) before the archive has its name stops
pg_dump and removes what was written (exit 130); after, the archive is finished, kept and listed, and
the exit is 130 all the same. While \`restore\` replaces the project's database, a backup exits 6 at once
(backups run side by side; a restore waits for none of them: it refuses to start, exit 6).

${exitCodes}`),
  run: async (a, { io }) =>
    (await load()).runBackup({ ...stackArgs(a), out: a.out, dir: a.dir, keep: a.keep, encrypt: a.encrypt, passphraseFile: a.passphraseFile, dumpOnly: a.dumpOnly, compress: a.compress }, io),
  commands: [verify, schedule],
});
