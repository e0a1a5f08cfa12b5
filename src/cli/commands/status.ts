// `phase-compose status`: service, role, state, health, since, and whether migrations are pending.
import { POSTGRES_SERVICE } from '../../model/compose.js';
import { listProject } from '../../docker/containers.js';
import { L_SERVICE } from '../../docker/labels.js';
import { dockerEngine } from '../../up/engine.js';
import { checkPending } from '../../up/pending.js';
import { buildPlan } from '../../up/plan.js';
import { mixedImages, statusRows, statusTable, type ContainerFacts } from '../../up/status.js';
import { connectDocker } from '../../docker/client.js';
import { lockHolder } from '../../docker/lock.js';
import { openStack } from '../../stack/open.js';
import { formatProblem } from '../../util/errors.js';
import type { Io } from '../io.js';
import { OK, type Outcome } from '../outcome.js';

export type StatusArgs = { file: string; projectName?: string; json?: boolean; checkMigrations?: boolean };

/** Runs status (it writes no file and takes no lock). */
export async function runStatus(args: StatusArgs, io: Io): Promise<Outcome> {
  const stack = openStack(args, { compose: true }); // Compose is not run; asking for it keeps status's exit 3 without it
  const docker = await connectDocker();
  for (const w of stack.warnings) io.err(formatProblem(w));
  const plan = buildPlan(stack.spec);
  const list = await listProject(docker, stack.project);
  const facts: ContainerFacts[] = [];
  for (const c of list) {
    const i = await docker.getContainer(c.Id).inspect();
    facts.push({
      service: c.Labels[L_SERVICE] ?? '',
      name: i.Name.replace(/^\//, ''),
      status: i.State.Status,
      health: (i.State.Health as { Status?: string } | undefined)?.Status,
      exitCode: i.State.ExitCode,
      startedAt: i.State.StartedAt,
      finishedAt: i.State.FinishedAt,
      image: i.Config.Image,
      imageId: i.Image,
    });
  }
  const pending: Record<string, boolean | undefined> = {};
  const dbUp = facts.some((f) => f.service === POSTGRES_SERVICE && f.status === 'running') || !stack.spec.data.postgres;
  for (const step of plan.steps) {
    if (!step.migration) continue;
    pending[step.service] = undefined;
    const base = list.find((c) => c.Labels[L_SERVICE] === step.service) ?? list.find((c) => plan.steps.some((s) => s.migration && s.service === c.Labels[L_SERVICE]));
    if (!args.checkMigrations || !step.migration.check || !base || !dbUp) continue;
    pending[step.service] = await checkPending(dockerEngine(docker), base.Id, step.migration.check, stack.project).catch(() => undefined);
  }
  const rows = statusRows(plan, facts, pending);
  const warnings = mixedImages(facts, lockHolder(stack.project));
  if (args.json) io.out(JSON.stringify({ project: stack.project, services: rows, warnings }));
  else {
    io.out(`project ${stack.project} (${stack.composeFile})`);
    io.out(statusTable(rows));
    for (const w of warnings) io.out(`note: ${w}`);
  }
  return OK;
}
