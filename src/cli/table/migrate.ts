// `phase-compose migrate`: its options and help; the implementation is in src/cli/commands/up.ts.
import { defineCommand, stackArgs } from '../command.js';
import { duration } from '../options.js';

export default defineCommand({
  command: 'migrate',
  describe: 'Run the migration jobs alone (data services are started if needed); skipped when nothing is pending',
  builder: (y, exitCodes) =>
    y
      .epilogue(exitCodes)
      .option('phase', { type: 'string', requiresArg: true, choices: ['pre', 'post'] as const, describe: 'Only this phase (default: pre, then post)' })
      .option('force', { type: 'boolean', default: false, describe: 'Run even when the check says nothing is pending' })
      .option('timeout', { type: 'string', default: '10m', requiresArg: true, coerce: duration('timeout'), describe: 'Give up after this long' })
      .option('json', { type: 'boolean', default: false, describe: 'JSON lines on stdout' })
      .example('$0 migrate', 'Pending pre- then post-deploy migrations, with the backup the spec asks for')
      .example('$0 migrate --phase post', 'Only the post-deploy phase, once the new code is live'),
  run: async (a, { io, exitCodeOf }) =>
    (await import('../commands/up.js')).runMigrateCommand({ ...stackArgs(a), timeout: a.timeout, forceMigrations: a.force, json: a.json, phase: a.phase }, io, exitCodeOf),
});
