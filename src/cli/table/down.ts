// `phase-compose down`: its options and help; the implementation is src/cli/commands/down.ts.
import { defineCommand, stackArgs } from '../command.js';

export default defineCommand({
  command: 'down',
  describe: 'Stop and remove the stack\'s containers and networks (volumes too with -v)',
  builder: (y, exitCodes) =>
    y
      .epilogue(exitCodes)
      .option('volumes', { alias: 'v', type: 'boolean', default: false, describe: 'Also remove named volumes: THE DATABASE IS DELETED' })
      .example('$0 down', 'Stop and remove containers; data volumes stay')
      .example('$0 down -v', 'Remove everything, data included'),
  run: async (a, { io }) => (await import('../commands/down.js')).runDown({ ...stackArgs(a), volumes: a.volumes }, io),
});
