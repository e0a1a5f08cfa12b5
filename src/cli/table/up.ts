// `phase-compose up`: its options and help; the implementation is src/cli/commands/up.ts.
import { defineCommand, stackArgs } from '../command.js';
import { duration } from '../options.js';

export default defineCommand({
  command: 'up [services..]',
  describe: 'Start the stack in dependency order: data, pre-deploy migrations, app, post-deploy migrations, proxy',
  builder: (y, exitCodes) =>
    y
      .positional('services', { type: 'string', array: true, describe: 'Only these services (and what they wait for)' })
      .option('timeout', { type: 'string', default: '5m', requiresArg: true, coerce: duration('timeout'), describe: 'Give up when not everything is ready after this long (e.g. 90s, 5m; a bare number is seconds)' })
      .option('force-migrations', { type: 'boolean', default: false, describe: 'Run the migration jobs even when their check says nothing is pending' })
      .option('json', { type: 'boolean', default: false, describe: 'JSON lines on stdout (state changes, then one result object)' })
      .option('recreate', { type: 'boolean', default: false, describe: 'On a running stack whose services changed (image, environment, command, the proxy config or its TLS certificate, or anything else in their generated definition: a healthcheck, a volume, a port): let Compose recreate them at once, accepting the outage, instead of refusing (use `upgrade` for no outage)' })
      .example('$0 up', 'Start ./phase-compose.yaml\'s stack; migrations run only when pending, after a backup')
      .example('$0 -f deploy/phase-compose.yaml -p phase-staging up --timeout 2m', 'Another spec and project name')
      .example('$0 up --json | jq -c .', 'Machine-readable progress')
      .epilogue(`Compose creates every container (a plain \`docker compose up\` on the generated file keeps working,
but on Compose 2.19 to 2.29.2 its first run after phase-compose's recreates the services that wait on
others, all replicas at once, docker/compose#12069: up then warns and names them; see the README);
phase-compose starts each one as soon as what it waits for is ready, seen from Docker events and from
running the service's own healthcheck every second, and at once when the port it checks opens (a TCP
connect from this host, where the Engine is local). Nothing that waits on a failed job is created.
On a failure it prints the service, exit code, health log, last 50 lines and the \`docker logs\` command,
and keeps the failed container. Ctrl-C stops waiting and leaves containers as they are.
Before pending migrations run, the database is backed up when the spec asks for it (migrations.backup),
except a database whose volume this very run created: it holds nothing yet, and every migration is
taken as pending without running the check.
On a running stack whose long-running services changed (image, environment, command, the proxy's
generated config, or its TLS certificate replaced on the host: a running proxy never sees either), up
refuses: Compose would stop every replica before the new ones start. Use \`phase-compose upgrade\` (rolling, no
outage), or \`up --recreate\` to accept the outage.
Once the whole stack is ready, up keeps a copy of the compose file and the proxy config in .phase-compose/
beside the spec (0600): what the stack runs from, which \`rollback\` returns to after the next upgrade. A
run that fails, times out or is interrupted records there the services whose every running container it
created: they run from these files, and the next up does not refuse them over that change.

${exitCodes}`),
  run: async (a, { io, exitCodeOf }) =>
    (await import('../commands/up.js')).runUpCommand({ ...stackArgs(a), timeout: a.timeout, forceMigrations: a.forceMigrations, json: a.json, services: a.services, recreate: a.recreate }, io, exitCodeOf),
});
