// `phase-compose upgrade`: its options and help; the implementation is src/cli/commands/upgrade.ts.
import { defineCommand, stackArgs } from '../command.js';
import { duration } from '../options.js';

export default defineCommand({
  command: 'upgrade',
  describe: 'Upgrade a running stack without downtime: backup, pre-deploy migrations, rolling replacement, post-deploy migrations',
  builder: (y, exitCodes) =>
    y
      .option('to', { type: 'string', requiresArg: true, describe: 'New version: the value of the one variable the images name (e.g. PHASE_VERSION in phasehq/backend:${PHASE_VERSION}); written to .env once the pre-deploy migrations succeeded, put back if nothing could be replaced' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'Print the plan (what changes, what is pending with the new image, the backup) and stop; writes nothing, not even generated files that are out of date (they are named)' })
      .option('skip-post', { type: 'boolean', default: false, describe: 'Hold the post-deploy migrations (rollback stays possible); run them later with `migrate --phase post`' })
      .option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'Do not ask for confirmation (needed without a terminal)' })
      .option('timeout', { type: 'string', default: '5m', requiresArg: true, coerce: duration('timeout'), describe: 'How long new containers may take to turn healthy (migrations are waited for, never killed)' })
      .option('json', { type: 'boolean', default: false, describe: 'JSON lines on stdout' })
      .example('$0 upgrade --to 2.74.0 --dry-run', 'What an upgrade to 2.74.0 would do')
      .example('$0 upgrade --to 2.74.0 --yes', 'Do it')
      .example('$0 upgrade --yes', 'Go to what the spec and .env now say (after you edited them)')
      .epilogue(`Order: take the project's lock; check the new images are on this host; back up when migrations are
pending (migrations.backup); run the pre-deploy migrations with the new image while the old app serves;
replace each changed long-running service by a rolling replacement: new containers start beside the old
ones, each must turn healthy (a service without a healthcheck must stay running for 3 s), then the new
ones join the service name and the old ones leave it (each one's network endpoint made again without
the name, at the same address), then the old ones are stopped gracefully (SIGTERM: they finish what is in
flight) and removed; then the post-deploy migrations run.
A service that publishes a fixed host port is replaced in place (a short gap). Data services are never
restarted. Unchanged services are not touched.
Failures: a failed pre-deploy migration replaces nothing (exit 4, with its output and whether the database
changed); new containers that crash or never turn healthy are removed and the old ones were never stopped
(exit 4); a failed post-deploy migration leaves the new version serving (exit 4). Ctrl-C (exit 130)
during the rolling replacement lets what is under way finish (a drain, an in-place replacement), puts
back what it already replaced, so one version serves, and says which; Ctrl-C again (0.5 s or more
later; during that rolling back too) leaves at once, with what runs half replaced (\`phase-compose
status\` shows it). \`phase-compose rollback\` returns to the version this upgrade replaced, as long as
the post-deploy migrations have not run.

${exitCodes}`),
  run: async (a, { io, exitCodeOf }) =>
    (await import('../commands/upgrade.js')).runUpgrade({ ...stackArgs(a), to: a.to, dryRun: a.dryRun, skipPost: a.skipPost, yes: a.yes, timeout: a.timeout, json: a.json, isTTY: io.isTTY }, io, exitCodeOf),
});
