// What `upgrade` records for `rollback`: the version it replaced (the version variable's old value, or a
// copy of the compose file the running containers were created from), each service's image before and
// after, whether the post-deploy phase ran, and the backup. And what `up`, `upgrade` and `rollback` leave
// once they succeed: a copy of the generated files the stack now runs from ("deployed"), because the
// files themselves are written again as soon as the spec changes (by `generate`, or by an `up` that then
// refuses), before the upgrade that replaces the containers. Kept beside the spec in `.phase-compose/`
// (0700; files 0600), written atomically.
import { existsSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isGeneratedFile } from '../util/generated-files.js';
import { makeDirs, readStackText, writeFileAtomic } from '../util/fs.js';
import { isMap, isScalar, parseDocument } from 'yaml';
import { PhaseComposeError } from '../util/errors.js';

export type UpgradeRecord = {
  project: string;
  at: string;
  /** Set by `--to`: the version variable, its value before and after. */
  variable?: { name: string; from?: string; to: string };
  /** A copy of the compose file the replaced containers were created from. */
  previousCompose: string;
  /**
   * A copy of the compose file the new containers were created from: what a `rollback` compares the old
   * one with, also when the upgrade never finished (the deployed record then still names the old one).
   */
  upgradedCompose?: string;
  /**
   * The proxy's config file (`path`) and a copy of the config the replaced proxy read (`saved`): the
   * compose file mounts the config by its path, so `rollback` writes the old one back there first.
   */
  previousProxy?: { path: string; saved: string };
  services: Record<string, { from: string; to: string }>;
  /** Post-deploy migrations were pending when the upgrade planned (undefined: unknown). */
  postPending?: boolean;
  postRan: boolean;
  /** The rows of django_migrations when the app was about to be replaced (after the pre-deploy phase). */
  migrationsApplied?: number;
  backup?: string;
};

const dirOf = (specDir: string) => join(specDir, '.phase-compose');
export const recordPath = (specDir: string, project: string) => join(dirOf(specDir), `${project}.last-upgrade.json`);
/**
 * Each upgrade saves its previous files under its own names (`stamp`: the upgrade's time): until
 * 2026-11-29 the names were fixed, and a second upgrade that failed before it replaced anything had
 * already written over the files the first one's record pointed to, so that `rollback` then deployed what
 * ran and said done.
 */
export const previousComposePath = (specDir: string, project: string, stamp: string) => join(dirOf(specDir), `${project}.previous-compose.${stamp}.yml`);

export const previousProxyPath = (specDir: string, project: string, stamp: string) => join(dirOf(specDir), `${project}.previous-proxy.${stamp}.conf`);

/** A record's time as a file name part: its digits. */
export const stampOf = (at: string) => at.replace(/[^0-9]/g, '');
const deployedPath = (specDir: string, project: string, what: 'compose' | 'proxy') =>
  join(dirOf(specDir), `${project}.deployed-${what === 'compose' ? 'compose.yml' : 'proxy.conf'}`);

const save = (path: string, text: string): string => {
  makeDirs(dirname(path), 0o700);
  writeFileAtomic(path, text, 0o600);
  return path;
};

/** Saves the compose file the replaced containers were created from, for `rollback`. */
export function savePreviousCompose(specDir: string, project: string, stamp: string, composeText: string): string {
  return save(previousComposePath(specDir, project, stamp), composeText);
}

/** Saves the compose file the new containers are created from, for `rollback`. */
export function saveUpgradedCompose(specDir: string, project: string, stamp: string, composeText: string): string {
  return save(join(dirOf(specDir), `${project}.upgraded-compose.${stamp}.yml`), composeText);
}

/** Saves the config the replaced proxy read, for `rollback`. */
export function savePreviousProxy(specDir: string, project: string, stamp: string, configText: string): string {
  return save(previousProxyPath(specDir, project, stamp), configText);
}

/** The generated files a stack runs from: the compose file's text, and the proxy config's path and text. */
export type Deployed = { compose: string; proxy?: { path: string; text: string } };

/** Records the files the running containers were created from (after `up`, `upgrade` or `rollback` succeeded). */
export function saveDeployed(specDir: string, project: string, d: Deployed): void {
  save(deployedPath(specDir, project, 'compose'), d.compose);
  if (d.proxy) save(deployedPath(specDir, project, 'proxy'), d.proxy.text);
}

/**
 * The recorded compose text with `services` as `now` defines them (and the top-level volumes and
 * networks `now` adds): what runs after an `up` of those services alone. Undefined when there is no
 * record to start from, or either text does not parse. Pure.
 */
export function mergeDeployed(recorded: string | undefined, now: string, services: readonly string[]): string | undefined {
  if (recorded === undefined) return undefined;
  const was = parseDocument(recorded);
  const is = parseDocument(now);
  if (was.errors.length || is.errors.length || !isMap(was.get('services')) || !isMap(is.get('services'))) return undefined;
  for (const s of services) {
    const def = is.getIn(['services', s], true);
    if (def !== undefined) was.setIn(['services', s], def);
  }
  for (const top of ['volumes', 'networks']) {
    const add = is.get(top);
    if (!isMap(add)) continue;
    for (const pair of add.items) {
      const key = isScalar(pair.key) ? pair.key.value : pair.key;
      if (typeof key === 'string' && !was.hasIn([top, key])) was.setIn([top, key], pair.value);
    }
  }
  return String(was);
}

/**
 * The services whose every running container (`now`) is new since `before` (the ids of every container
 * of the project when a run began, whatever their state): created by that run, from the files it wrote.
 * Sorted; a service with nothing running is not one. Pure.
 */
export function recreatedServices(before: ReadonlySet<string>, now: ReadonlyArray<{ id: string; service: string }>): string[] {
  const services = new Map<string, boolean>();
  for (const c of now) services.set(c.service, (services.get(c.service) ?? true) && !before.has(c.id));
  return [...services].filter(([svc, fresh]) => fresh && svc !== '').map(([svc]) => svc).sort();
}

/** The files recorded by saveDeployed(), each undefined when none was recorded (a stack started before this existed). */
export function readDeployed(specDir: string, project: string): { compose?: string; proxy?: string } {
  const compose = readStackText(deployedPath(specDir, project, 'compose'));
  const proxy = readStackText(deployedPath(specDir, project, 'proxy'));
  return { ...(compose !== undefined ? { compose } : {}), ...(proxy !== undefined ? { proxy } : {}) };
}

/**
 * Writes the saved proxy config back to the config's path, so that a proxy created from the saved
 * compose file reads the config it was created with. Returns what it did, or why it did not: a file
 * phase-compose did not write is never replaced.
 */
export function restorePreviousProxy(p: NonNullable<UpgradeRecord['previousProxy']>): string {
  const text = readStackText(p.saved);
  if (text === undefined) return `the saved proxy config ${p.saved} is missing: the proxy reads ${p.path} as it is`;
  if (existsSync(p.path) && !isGeneratedFile(p.path)) return `${p.path} was not written by phase-compose: left as it is, and the proxy reads it`;
  if (readStackText(p.path) === text) return `${p.path} already holds the config the old proxy read`;
  writeFileAtomic(p.path, text, 0o644);
  return `wrote the config the old proxy read back to ${p.path} (the spec's is written again by the next \`up\` or \`upgrade\`)`;
}

export function writeRecord(specDir: string, r: UpgradeRecord): void {
  save(recordPath(specDir, r.project), `${JSON.stringify(r, null, 2)}\n`);
}

/**
 * The files a record saved that are phase-compose's own: in `.phase-compose/`, named for its project
 * (a record edited by hand never makes phase-compose remove anything else).
 */
function savedFiles(specDir: string, r: UpgradeRecord | undefined): string[] {
  if (!r) return [];
  const dir = dirOf(specDir);
  return [r.previousCompose, r.upgradedCompose, r.previousProxy?.saved].filter((p): p is string =>
    typeof p === 'string' && dirname(p) === dir && [`${r.project}.previous-`, `${r.project}.upgraded-`].some((prefix) => basename(p).startsWith(prefix)));
}

/** Removes the files `gone` saved that `kept` does not use. */
export function discardSaved(specDir: string, gone: UpgradeRecord | undefined, kept?: UpgradeRecord): void {
  const keep = new Set(savedFiles(specDir, kept));
  for (const p of savedFiles(specDir, gone)) if (!keep.has(p)) rmSync(p, { force: true });
}

/** The record as it is (undefined: none, or one that cannot be read), for putting back. */
export function priorRecord(specDir: string, project: string): UpgradeRecord | undefined {
  try {
    return readStackText(recordPath(specDir, project)) === undefined ? undefined : readRecord(specDir, project);
  } catch {
    return undefined;
  }
}

/**
 * Puts back the record an upgrade found (`prior`; none: no record) once that upgrade left nothing to
 * return from (nothing replaced, or all of it rolled back), so that `rollback` still returns from the
 * upgrade before it; drops what `r` saved.
 */
export function revertRecord(specDir: string, r: UpgradeRecord, prior: UpgradeRecord | undefined): void {
  if (prior) writeRecord(specDir, prior);
  else rmSync(recordPath(specDir, r.project), { force: true });
  discardSaved(specDir, r, prior);
}

/** The last upgrade's record, or a usage error saying there is none. */
export function readRecord(specDir: string, project: string): UpgradeRecord {
  const p = recordPath(specDir, project);
  const text = readStackText(p);
  if (text === undefined) throw new PhaseComposeError('usage', `no upgrade of project "${project}" is recorded (${p} does not exist)`, { details: ['rollback returns to the version the last `phase-compose upgrade` replaced'] });
  try {
    const r = JSON.parse(text) as UpgradeRecord;
    if (r.project !== project || typeof r.previousCompose !== 'string') throw new Error('not a record of this project');
    return r;
  } catch (e) {
    throw new PhaseComposeError('problem', `the upgrade record ${p} cannot be read: ${(e as Error).message}`);
  }
}
