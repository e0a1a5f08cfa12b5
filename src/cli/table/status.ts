// `phase-compose status`: its options and help; the implementation is src/cli/commands/status.ts.
import { defineCommand, stackArgs } from '../command.js';

export default defineCommand({
  command: 'status',
  describe: 'Table of service, role, container, image, state, health, since, and whether migrations are pending; a note names a service whose running containers run more than one image (an upgrade or rollback under way or left halfway)',
  builder: (y, exitCodes) =>
    y
      .epilogue(exitCodes)
      .option('json', { type: 'boolean', default: false, describe: 'One JSON object instead of the table' })
      .option('check-migrations', { type: 'boolean', default: true, describe: 'Run the migration checks (a throwaway container each); --no-check-migrations skips them' })
      .example('$0 status', 'What runs and whether migrations are pending')
      .example('$0 status --json', 'For scripts'),
  run: async (a, { io }) => (await import('../commands/status.js')).runStatus({ ...stackArgs(a), json: a.json, checkMigrations: a.checkMigrations }, io),
});
