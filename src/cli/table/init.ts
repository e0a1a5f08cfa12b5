// `phase-compose init`: its options and help; the implementation is src/cli/commands/init.ts.
import { defineCommand } from '../command.js';

export default defineCommand({
  command: 'init',
  describe: 'Scaffold a stack: spec, .env with generated secrets, compose file, nginx config',
  builder: (y, exitCodes) =>
    y
      .epilogue(exitCodes)
      .option('dir', { alias: 'd', type: 'string', requiresArg: true, default: '.', describe: 'Directory to write into (created if missing)' })
      .option('template', { alias: 't', type: 'string', requiresArg: true, default: 'phase', choices: ['phase'], describe: 'Stack template' })
      .option('host', { type: 'string', requiresArg: true, describe: 'Host name users reach the app at (prompted on a TTY; default localhost)' })
      .option('client-ip', { type: 'string', requiresArg: true, choices: ['direct', 'cloudflare', 'header'] as const, describe: 'Where nginx takes the client IP from (prompted on a TTY; default direct)' })
      .option('proxy-header', { type: 'string', requiresArg: true, describe: 'With --client-ip header: the header carrying the client IP (default X-Forwarded-For)' })
      .option('trusted', { type: 'array', string: true, describe: 'With --client-ip header (or cloudflare): CIDR ranges of the proxies allowed to set it' })
      .option('tls', { type: 'string', requiresArg: true, choices: ['self-signed', 'none'] as const, describe: 'TLS on 443: a self-signed certificate (default when openssl is installed) or none' })
      .option('compose-version', { type: 'string', requiresArg: true, describe: 'Target Compose version (default: the installed one)' })
      .option('engine-version', { type: 'string', requiresArg: true, describe: 'Target Docker Engine version (default: the running one)' })
      .option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'Accept defaults; never prompt' })
      .option('force', { type: 'boolean', default: false, describe: 'Overwrite existing files (each kept as <file>.bak, .bak.1, ... never replacing an earlier backup); an existing .env keeps every entry (its secrets, extra keys, and HOST unless --host is given)' })
      .example('$0 init --dir my-phase --host phase.example.com --yes', 'Non-interactive set-up in ./my-phase')
      .example('$0 init --client-ip header --proxy-header X-Forwarded-For --trusted 10.0.0.0/8', 'Behind a load balancer'),
  run: async (a, { io }) => (await import('../commands/init.js')).runInit(a, io),
});
