// `phase-compose restore FILE`: confirm, stop the app services, restore, start them again.
import { resolve } from 'node:path';
import { checkBackupFile, restoreDatabase } from '../../backup/restore.js';
import { connectDocker } from '../../docker/client.js';
import { cliConfirm } from '../../exec/confirm.js';
import { openStack } from '../../stack/open.js';
import type { Io } from '../io.js';
import { OK, type Outcome } from '../outcome.js';

/** Restores a dump written by `backup`. */
export async function runRestore(args: { file: string; projectName?: string; backup: string; yes?: boolean }, io: Io): Promise<Outcome> {
  const stack = openStack(args);
  checkBackupFile(resolve(args.backup));
  const docker = await connectDocker();
  const res = await restoreDatabase(docker, stack, resolve(args.backup), { confirm: cliConfirm(!!args.yes, io.isTTY), log: io.err });
  io.out(`restored ${res.file}: ${res.tables} tables with data${res.stopped.length ? `; restarted ${[...new Set(res.stopped)].join(', ')}` : ''}`);
  return OK;
}
