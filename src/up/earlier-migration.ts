// A migration container still running from an earlier run (its `up` was killed, or timed out) must end
// before anything replaces it: Compose recreates a container whose config changed, which would kill the
// migration mid-way (a half-built CONCURRENTLY index wedges the next deploy). So every command that may
// create containers first waits for it here, and reports its result. Waiting never kills it.
import type { Clock } from './clock.js';
import type { UpEngine } from './engine.js';

/** What was found: nothing running, or each earlier migration's end (or that it still runs at the deadline). */
export type EarlierMigration = { service: string; container: string; exitCode?: number; logs: string; stillRunning: boolean };

/** How often a running migration is looked at. */
export const EARLIER_POLL_MS = 1000;

/**
 * Waits (up to `deadline`, on `clock`) for every running container of the `migrationServices`; returns
 * what each did. `note` is told at once what is being waited for.
 */
export async function waitForEarlierMigrations(
  engine: Pick<UpEngine, 'containersByService' | 'inspect' | 'logs'>,
  o: { project: string; migrationServices: string[]; deadline: number; clock: Clock; signal?: AbortSignal; note(line: string): void },
): Promise<EarlierMigration[]> {
  const byService = await engine.containersByService(o.project);
  const running: Array<{ service: string; id: string; name: string }> = [];
  for (const service of o.migrationServices) {
    for (const id of byService.get(service) ?? []) {
      const i = await engine.inspect(id, o.clock.now());
      if (i.obs.status === 'running' || i.obs.status === 'restarting') running.push({ service, id, name: i.obs.name });
    }
  }
  const out: EarlierMigration[] = [];
  for (const r of running) {
    o.note(`${r.service}: a migration from an earlier run is still running in ${r.name}; waiting for it to end before anything replaces it (it is never stopped)`);
    let exitCode: number | undefined;
    let stillRunning = true;
    for (;;) {
      const i = await engine.inspect(r.id, o.clock.now()).catch(() => undefined); // gone: it ended
      if (!i || (i.obs.status !== 'running' && i.obs.status !== 'restarting')) {
        exitCode = i?.obs.exitCode;
        stillRunning = false;
        break;
      }
      if (o.clock.now() >= o.deadline || o.signal?.aborted) break;
      await o.clock.sleep(Math.min(EARLIER_POLL_MS, Math.max(0, o.deadline - o.clock.now())), o.signal);
    }
    const logs = await engine.logs(r.id, 50).catch(() => '');
    out.push({ service: r.service, container: r.name, ...(stillRunning ? {} : { exitCode }), logs, stillRunning });
    if (stillRunning) break;
    o.note(`${r.service}: the earlier run's migration ${exitCode === 0 ? 'completed (exit 0)' : `failed (exit ${exitCode ?? 'unknown'}); this run tries again. Its last output:\n${logs.trimEnd()}`}`);
  }
  return out;
}
