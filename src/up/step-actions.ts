// When each step starts: once it is tracked and what it waits on is ready. A migration step first learns
// whether anything is pending (as early as it can), skips when nothing is, and waits for the backup. Pure.
import { knownPending, NO_BACKUP_FRESH } from './pending.js';
import type { Step } from './plan.js';
import { depSatisfied, stepOf, type Action, type RunnerState } from './runner-state.js';

export function stepActions(s: RunnerState): Action[] {
  const out: Action[] = [];
  for (const step of s.plan.steps) {
    const phase = s.phase.get(step.service);
    if (phase === 'waiting') {
      if (!s.tracked.has(step.service)) continue;
      // A migration's check runs as soon as it can, so a post phase knows before the app is healthy.
      if (step.migration && !s.checks.has(step.service) && checkable(s, step)) out.push(checkAction(s, step));
      if (!step.deps.every((d) => depSatisfied(s, d))) continue;
      out.push(step.migration ? { type: 'begin', service: step.service } : { type: 'start', service: step.service, notes: [] });
    } else if (phase === 'checking') {
      const a = afterCheck(s, step);
      if (a) out.push(a);
    } else if (phase === 'backing up' && (s.backup === 'done' || s.backup === 'skipped')) {
      out.push({ type: 'start', service: step.service, notes: [] });
    }
  }
  return out;
}

/** A migration's pending check needs the data services and the jobs before it, not the app. */
const checkable = (s: RunnerState, step: Step) =>
  step.deps.every((d) => depSatisfied(s, d) || !['data', 'job', 'migrations', 'migrations-post'].includes(stepOf(s, d.on)?.kind ?? ''));

/** The database's volumes were all created by this run: it holds nothing yet. */
const fresh = (s: RunnerState) => s.dbVolumes.length > 0 && s.dbVolumes.every((v) => s.createdVolumes.has(v));

function checkAction(s: RunnerState, step: Step): Action {
  const argv = step.migration?.check;
  const baseId = s.tracked.get(step.service)?.[0];
  const known = knownPending({ fresh: fresh(s), check: argv, baseId, force: s.opts.forceMigrations });
  return known ? { type: 'checked', service: step.service, answer: known } : { type: 'check', service: step.service, baseId: baseId!, argv: argv! };
}

/** A migration step whose dependencies are ready: skip it, wait for the backup, or start it. */
function afterCheck(s: RunnerState, step: Step): Action | undefined {
  const service = step.service;
  const m = step.migration!;
  const r = s.checks.get(service);
  if (!r) return checkAction(s, step);
  if (r === 'running') return undefined;
  if (!r.pending && m.run === 'always') return { type: 'start', service, notes: [`${service}: no ${m.phase}-deploy migrations pending; running anyway (migrations.run: always)`] };
  if (!r.pending) return { type: 'skip', service, phase: m.phase, notes: [`${service}: no ${m.phase}-deploy migrations pending; skipped (--force-migrations runs them anyway)`] };
  const notes = r.fresh ? [`${service}: the database was created by this run; every ${m.phase}-deploy migration is pending`] : [];
  if (s.opts.backup && !r.fresh) return { type: 'backup', service, take: s.backup === 'none' };
  if (s.opts.backup && s.backup === 'none') return { type: 'start', service, notes: [...notes, NO_BACKUP_FRESH], skipBackup: true };
  return { type: 'start', service, notes };
}
