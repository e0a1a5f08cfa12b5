// A container's own healthcheck, as the argv the runner's probe runs by exec (see up/probe-actions.ts).

/** Healthcheck `Test` of docker inspect → argv for exec; undefined for NONE or no test. */
export function healthcheckArgv(test: string[] | undefined): string[] | undefined {
  if (!test?.length) return undefined;
  const [kind, ...rest] = test;
  if (kind === 'CMD-SHELL') return rest.length ? ['/bin/sh', '-c', rest.join(' ')] : undefined;
  if (kind === 'CMD') return rest.length ? rest : undefined;
  return undefined;
}
