// `phase-compose restore`: its options and help; the implementation is src/cli/commands/restore.ts.
import { defineCommand, stackArgs } from '../command.js';
import { duration } from '../options.js';
import { PASSPHRASE_ENV } from '../passphrase.js';

export default defineCommand({
  command: 'restore <backup>',
  describe: 'Restore an archive into the running stack (app stopped meanwhile, all or nothing), or with --dir build a new stack from it',
  builder: (y, exitCodes) =>
    y
      .positional('backup', { type: 'string', describe: 'Archive written by `backup` (or a plain dump from `backup --dump-only` / before migrations)' })
      .option('dir', { type: 'string', requiresArg: true, describe: 'Build a new stack in DIR from the archive alone: spec, .env (0600), generated files, database; then `up`' })
      .option('force', { type: 'boolean', default: false, describe: 'Restore even when the live database has migrations the archive does not know (then what it holds is dropped first, in the same transaction: see below). An archive only: a plain dump has no migrations to compare' })
      .option('ignore-env', { type: 'boolean', default: false, describe: 'Restore even when the stack\'s env files lack or redefine a key the app may read its data with (the app may then not read the restored data). An archive only' })
      .option('passphrase-file', { type: 'string', requiresArg: true, normalize: true, describe: `Read the passphrase from the first line of this file (else $${PASSPHRASE_ENV}, else a prompt on a terminal)` })
      .option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'Do not ask' })
      .option('timeout', { type: 'string', default: '5m', requiresArg: true, coerce: duration('timeout'), describe: 'With --dir: how long `up` may take' })
      .example('$0 restore backups/phase-20261126T080000Z.pcbak', 'Into the running stack: asks first; checks the archive before stopping anything')
      .example('$0 -p phase restore /mnt/offsite/phase.pcbak --dir /srv/phase', 'A fresh host: writes /srv/phase, restores the database, then starts the stack')
      .epilogue(`Into the running stack: the archive is read in full first (passphrase, every sha256, pg_restore --list)
and the live database compared with it. A live database with migrations the archive does not know is
refused unless --force: migrations are one-way, and the app now running expects the newer schema. With
--force over such a database, every table, view, sequence, routine, operator, text search
configuration, type, domain, collation, publication, foreign server and schema but public in it (not an
extension's), every event trigger not an extension's (dropped first) and every large object are
dropped in the same transaction before the archive's are restored: what the newer migrations made (and
anything else the archive lacks) would else stay and fail the next migrate. Subscriptions, casts between
built-in types and default privileges stay. Run the app version the archive was made with afterwards. A
stack whose env files lack a key the app may read its data with, or define it otherwise than the
archive (backups.env's keys, else those whose name holds SECRET or KEY: Phase's SECRET_KEY and
SERVER_SECRET; named, never their values), is refused unless --ignore-env: --force does not lift it. Only then are the app services stopped (dependents first), the dump restored with pg_restore --clean in one
transaction, and the services started again in dependency order. Another client's session holding
table locks in a transaction open for more than 5s is refused first, by pid: pg_restore would wait for
it with the app stopped. Nothing is changed by a refusal.
Ctrl-C or SIGTERM during the first read stops it at once (exit 130): nothing changed, the app not stopped.
Ctrl-C while the app is stopped is held and said so: the transaction is not cut short, and the app
starts again once it ends; Ctrl-C again (0.5 s or more later) leaves at once, with the app stopped. The restore holds the
project's lock throughout: while up, upgrade, down, another restore or a backup runs on it, it exits 6
at once, nothing stopped.

With --dir: writes the archive's spec, env files (0600) and generated files into DIR (never replacing a
file that differs), starts only postgres (-p names the project; default: the archived one), restores the
database into it, and then runs \`up\`: no app container starts before the data is back, and migrations
newer than the archive run as on any upgrade. A project that exists on this host is refused before
anything is written, unless it is an earlier restore --dir of DIR: its containers made from DIR, or a
volume alone that DIR/.phase-compose-restoring names with its creation time (the mark a run keeps there
until the database is restored; on Engine 20.10 that time changes once postgres has run on the volume,
which is then refused: remove it if it is that run's). An archive made with backups.env holds only those keys:
write the rest of the settings into DIR's env file first; it is kept when it defines every archived key
as the archive does, else refused by key name.

${exitCodes}`),
  run: async (a, { io, exitCodeOf }) =>
    (await import('../commands/restore.js')).runRestore(
      { ...stackArgs(a), backup: String(a.backup), yes: a.yes, dir: a.dir, force: a.force, ignoreEnv: a.ignoreEnv, passphraseFile: a.passphraseFile, timeout: a.timeout },
      io,
      exitCodeOf,
    ),
});
