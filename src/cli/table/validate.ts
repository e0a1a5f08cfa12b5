// `phase-compose validate`: its help; the implementation is src/cli/commands/validate.ts.
import { defineCommand } from '../command.js';

export default defineCommand({
  command: 'validate',
  describe: 'Check the spec: schema, references, cycles, health conditions, ports, secrets',
  builder: (y, exitCodes) => y.epilogue(exitCodes).example('$0 validate -f phase-compose.yaml', 'Print every problem with file:line:col'),
  run: async (a, { io }) => (await import('../commands/validate.js')).runValidate(a, io),
});
