// `phase-compose restore`: its options and help; the implementation is src/cli/commands/restore.ts.
import { defineCommand, stackArgs } from '../command.js';

export default defineCommand({
  command: 'restore <backup>',
  describe: 'Restore a backup: confirm, stop the app services (dependents first), pg_restore --clean in one transaction, start them again in dependency order',
  builder: (y, exitCodes) =>
    y
      .epilogue(exitCodes)
      .positional('backup', { type: 'string', describe: 'Dump file written by `backup`' })
      .option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'Do not ask' })
      .example('$0 restore backups/phase-20261123T120000Z.dump', 'Asks first; checks the .sha256 and the dump before stopping anything'),
  run: async (a, { io }) => (await import('../commands/restore.js')).runRestore({ ...stackArgs(a), backup: String(a.backup), yes: a.yes }, io),
});
