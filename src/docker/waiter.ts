// Edge: running a container's own healthcheck command by exec at a short cadence, so readiness is seen
// as soon as the service answers instead of at Docker's next healthcheck interval.

/** Healthcheck `Test` of docker inspect → argv for exec; undefined for NONE or no test. */
export function healthcheckArgv(test: string[] | undefined): string[] | undefined {
  if (!test?.length) return undefined;
  const [kind, ...rest] = test;
  if (kind === 'CMD-SHELL') return rest.length ? ['/bin/sh', '-c', rest.join(' ')] : undefined;
  if (kind === 'CMD') return rest.length ? rest : undefined;
  return undefined;
}

export type ProbeResult = { ok: boolean; output: string };

/**
 * Runs `argv` in the container every `intervalMs` until `stop()` returns true or `signal` aborts.
 * Each run is bounded by `timeoutMs` (an overrunning run is left to finish in the background).
 */
export async function probeLoop(
  exec: (id: string, argv: string[]) => Promise<{ exitCode: number; output: string }>,
  id: string,
  argv: string[],
  opts: { intervalMs: number; timeoutMs: number; signal: AbortSignal; stop: () => boolean; onResult: (r: ProbeResult) => void },
): Promise<void> {
  while (!opts.signal.aborted && !opts.stop()) {
    const began = Date.now();
    const run = exec(id, argv).then(
      (r) => ({ ok: r.exitCode === 0, output: r.output }),
      (e: Error) => ({ ok: false, output: `exec failed: ${e.message}` }),
    );
    const timeout = new Promise<ProbeResult>((res) => setTimeout(() => res({ ok: false, output: `timed out after ${opts.timeoutMs}ms` }), opts.timeoutMs).unref());
    const r = await Promise.race([run, timeout]);
    if (opts.signal.aborted) return;
    opts.onResult(r);
    if (r.ok) return;
    const wait = opts.intervalMs - (Date.now() - began);
    if (wait > 0) await new Promise((res) => setTimeout(res, wait));
  }
}
