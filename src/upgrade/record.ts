// What `upgrade` records for `rollback`: the version it replaced (the version variable's old value, or a
// copy of the compose file before the upgrade), each service's image before and after, whether the
// post-deploy phase ran, and the backup. Kept beside the spec in `.phase-compose/`, written atomically.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeDirs, writeFileAtomic } from '../util/fs.js';
import { PhaseComposeError } from '../util/errors.js';

export type UpgradeRecord = {
  project: string;
  at: string;
  /** Set by `--to`: the version variable, its value before and after. */
  variable?: { name: string; from?: string; to: string };
  /** A copy of the compose file as it was before the upgrade. */
  previousCompose: string;
  services: Record<string, { from: string; to: string }>;
  /** Post-deploy migrations were pending when the upgrade planned (undefined: unknown). */
  postPending?: boolean;
  postRan: boolean;
  backup?: string;
};

const dirOf = (specDir: string) => join(specDir, '.phase-compose');
export const recordPath = (specDir: string, project: string) => join(dirOf(specDir), `${project}.last-upgrade.json`);
export const previousComposePath = (specDir: string, project: string) => join(dirOf(specDir), `${project}.previous-compose.yml`);

/** Saves the compose file as it is now (before the upgrade changes what it means). */
export function savePreviousCompose(specDir: string, project: string, composeText: string): string {
  makeDirs(dirOf(specDir), 0o700);
  const p = previousComposePath(specDir, project);
  writeFileAtomic(p, composeText, 0o600);
  return p;
}

export function writeRecord(specDir: string, r: UpgradeRecord): void {
  makeDirs(dirOf(specDir), 0o700);
  writeFileAtomic(recordPath(specDir, r.project), `${JSON.stringify(r, null, 2)}\n`, 0o600);
}

/** The last upgrade's record, or a usage error saying there is none. */
export function readRecord(specDir: string, project: string): UpgradeRecord {
  const p = recordPath(specDir, project);
  if (!existsSync(p)) throw new PhaseComposeError('usage', `no upgrade of project "${project}" is recorded (${p} does not exist)`, { details: ['rollback returns to the version the last `phase-compose upgrade` replaced'] });
  try {
    const r = JSON.parse(readFileSync(p, 'utf8')) as UpgradeRecord;
    if (r.project !== project || typeof r.previousCompose !== 'string') throw new Error('not a record of this project');
    return r;
  } catch (e) {
    throw new PhaseComposeError('problem', `the upgrade record ${p} cannot be read: ${(e as Error).message}`);
  }
}
