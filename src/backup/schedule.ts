// Scheduled backups: a systemd service (one `phase-compose backup` run) and a timer that starts it every
// period. The job runs on the host, not in a container: it needs the Docker socket, the spec, the env
// files and the archive directory, and the stack's images carry neither phase-compose nor OpenPGP.
// Pure: the argv to run and the unit texts; the CLI writes them. Every value is quoted for systemd
// (systemd.syntax(7): C-style escapes in double quotes, `%` specifiers, `$` expansion in ExecStart=).
import { parseDuration } from '../util/duration.js';
import { GENERATED_MARK } from '../util/generated-files.js';
import { PhaseComposeError } from '../util/errors.js';
import { byCodePoint } from '../util/compare.js';

/** How long after each boot the timer starts a backup (OnBootSec). */
export const BOOT_DELAY = '15min';

export type ScheduleInput = {
  project: string;
  /** Absolute paths. */
  node: string;
  cli: string;
  specFile: string;
  passphraseFile: string;
  /** A duration (`24h`, `6h`, `30m`); at least 15 minutes. */
  every: string;
  /** Environment the run needs (HOME, DOCKER_CONFIG, DOCKER_HOST), as set where the schedule is made. */
  env: Record<string, string>;
};

export type UnitFile = { name: string; content: string };

/** The shortest period: a whole-instance backup more often than this is a mistake, not a schedule. */
export const MIN_PERIOD_MS = 15 * 60_000;


/**
 * One word for systemd: in double quotes, `\` and `"` escaped, `%` doubled, and for ExecStart= `$` doubled
 * (no expansion). Environment= gives `$` no meaning (systemd.exec(5)): doubled there it stayed doubled, and
 * a HOME of /home/a$b reached the timer's run as /home/a$$b (until 2026-11-28).
 */
export function systemdWord(s: string, o: { dollar?: boolean } = {}): string {
  if (/[\u0000-\u001f\u007f]/.test(s)) throw new PhaseComposeError('usage', `cannot put ${JSON.stringify(s)} in a systemd unit: it holds a control character (a newline?)`);
  const quoted = s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%');
  return `"${o.dollar === false ? quoted : quoted.replace(/\$/g, '$$$$')}"`;
}

/** What the service runs, word for word (the unit quotes each word). */
export function scheduleArgv(i: ScheduleInput): string[] {
  return [i.node, i.cli, '-f', i.specFile, '-p', i.project, 'backup', '--passphrase-file', i.passphraseFile];
}

/** The unit names: one service and one timer per project. */
export function unitNames(project: string): { service: string; timer: string } {
  const base = `phase-compose-backup-${project}`;
  return { service: `${base}.service`, timer: `${base}.timer` };
}

/** The service and timer texts. */
export function renderSchedule(i: ScheduleInput): { service: UnitFile; timer: UnitFile } {
  const ms = parseDuration(i.every);
  if (!(ms >= MIN_PERIOD_MS)) throw new PhaseComposeError('usage', `every ${i.every}: at least 15m between whole-instance backups`);
  const period = `${Math.round(ms / 1000)}s`;
  const names = unitNames(i.project);
  const head = (what: string) => [
    `${GENERATED_MARK} (backup schedule) for ${JSON.stringify(i.specFile)}: ${what}.`,
    '# Made again by `phase-compose backup schedule`; edit that command\'s flags, not this file.',
  ];
  const service = [
    ...head(`one \`phase-compose backup\` of project ${i.project}`),
    '[Unit]',
    `Description=phase-compose backup of ${i.project}`,
    'Wants=docker.service',
    'After=docker.service',
    '',
    '[Service]',
    'Type=oneshot',
    ...Object.entries(i.env).sort(([a], [b]) => byCodePoint(a, b)).map(([k, v]) => `Environment=${systemdWord(`${k}=${v}`, { dollar: false })}`),
    `ExecStart=${scheduleArgv(i).map((w) => systemdWord(w)).join(' ')}`,
    // The archive is written 0600 anyway; nothing else this run creates is for other users either.
    'UMask=0077',
    'Nice=10',
    'IOSchedulingClass=idle',
    // A large database takes long to dump; a run that overlaps the next period simply delays it.
    'TimeoutStartSec=12h',
    '',
  ].join('\n');
  const timer = [
    ...head(`starts ${names.service} every ${i.every}`),
    '[Unit]',
    `Description=phase-compose backup of ${i.project}, every ${i.every}`,
    '',
    '[Timer]',
    // Monotonic timers count from each boot: with OnActiveSec alone (until 2026-11-29) a host that
    // rebooted more often than the period never got a backup. OnBootSec starts one 15 minutes after each
    // boot (the stack is up by then), and at once when the timer is enabled later than that.
    `OnBootSec=${BOOT_DELAY}`,
    `OnUnitActiveSec=${period}`,
    'AccuracySec=1min',
    `Unit=${names.service}`,
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ].join('\n');
  return { service: { name: names.service, content: service }, timer: { name: names.timer, content: timer } };
}
