// `phase-compose rollback`: its options and help; the implementation is src/cli/commands/upgrade.ts.
import { defineCommand, stackArgs } from '../command.js';
import { duration } from '../options.js';

export default defineCommand({
  command: 'rollback',
  describe: 'Return to the version the last upgrade replaced, by the same rolling replacement',
  builder: (y, exitCodes) =>
    y
      .option('dry-run', { type: 'boolean', default: false, describe: 'Print what would change and stop' })
      .option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'Do not ask for confirmation (needed without a terminal)' })
      .option('timeout', { type: 'string', default: '5m', requiresArg: true, coerce: duration('timeout'), describe: 'How long the old version\'s containers may take to turn healthy' })
      .example('$0 rollback --yes', 'Back to the version before the last upgrade')
      .epilogue(`upgrade records what it replaced in .phase-compose/ beside the spec. rollback refuses once the
post-deploy migrations have run (migrations are one-way: the old code may read what they dropped); restore
the pre-upgrade backup instead (phase-compose restore <file>). With --to, the version variable is set back
in .env; without it, the compose file the replaced containers were created from is used (up, upgrade and
rollback record the files a stack runs from once they succeed, so it is the right one even after an up
that refused or a generate rewrote the files), its relative paths resolved in the stack's directory, and
the proxy config that the old proxy read is written back first (never over a file phase-compose did not
write). The spec still names the new version until you change it: the next up finds those services
changed again.

${exitCodes}`),
  run: async (a, { io }) =>
    (await import('../commands/upgrade.js')).runRollback({ ...stackArgs(a), dryRun: a.dryRun, yes: a.yes, timeout: a.timeout, isTTY: io.isTTY }, io),
});
