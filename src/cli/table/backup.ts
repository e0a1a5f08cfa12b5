// `phase-compose backup`: its options and help; the implementation is src/cli/commands/backup.ts.
import { defineCommand, stackArgs } from '../command.js';
import { count } from '../options.js';

export default defineCommand({
  command: 'backup',
  describe: 'Dump the database (pg_dump -Fc in the postgres container) to a verified file with a .sha256 beside it',
  builder: (y, exitCodes) =>
    y
      .epilogue(exitCodes)
      .option('out', { alias: 'o', type: 'string', requiresArg: true, describe: 'File to write (default: <dir>/<project>-<UTC time>.dump)', normalize: true })
      .option('dir', { type: 'string', requiresArg: true, describe: 'Directory for stamped backups (default: migrations.backup.dir, else backups/)' })
      .option('keep', { type: 'number', requiresArg: true, coerce: count('keep'), describe: 'Keep the newest N stamped backups (default: migrations.backup.keep, which is 5 when migrations.backup is on, as for up; without migrations.backup, all)' })
      .example('$0 backup', 'Write backups/<project>-<time>.dump and its .sha256')
      .example('$0 backup --out /srv/phase.dump', 'A file of your choice (never rotated)'),
  run: async (a, { io }) => (await import('../commands/backup.js')).runBackup({ ...stackArgs(a), out: a.out, dir: a.dir, keep: a.keep }, io),
});
