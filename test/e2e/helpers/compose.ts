// The Compose command the e2e tests run: `PHASE_COMPOSE_COMPOSE_ARGV` (a JSON argv, e.g.
// '["docker","compose"]'), else docker-compose (v1).

/** argv prefix of the Compose under test. */
export function composeArgv(): string[] {
  const v = process.env.PHASE_COMPOSE_COMPOSE_ARGV;
  return v ? (JSON.parse(v) as string[]) : ['docker-compose'];
}
