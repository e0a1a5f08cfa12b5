// The commands, in the order `--help` lists them: one module each (command, describe, builder, lazy run).
import type { CommandDef } from '../command.js';
import backup from './backup.js';
import down from './down.js';
import exec from './exec.js';
import generate from './generate.js';
import init from './init.js';
import migrate from './migrate.js';
import restore from './restore.js';
import status from './status.js';
import rollback from './rollback.js';
import up from './up.js';
import upgrade from './upgrade.js';
import validate from './validate.js';

export const COMMANDS: readonly CommandDef[] = [init, generate, validate, exec, backup, restore, up, upgrade, rollback, migrate, down, status];
