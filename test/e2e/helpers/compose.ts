// The test-bed stack the e2e tests run on (scripts/testbed.sh prints its environment; `npm test` passes
// it on): which Compose to call, what the fixture spec targets, and how Compose names containers.

export type StackName = 'v1' | 'v2';

/** The stacks, as scripts/testbed.sh sets them up; global-setup checks the real versions match. */
export const STACKS = {
  v1: { compose: '1.29', engine: '20.10', target: '{ compose: "1.29" }' },
  v2: { compose: '2.26', engine: '26.1', target: '{ compose: "2.26.1", engine: "26.1.5" }' },
} as const;

/** The stack under test: PHASE_COMPOSE_STACK, else v1. */
export const STACK: StackName = process.env.PHASE_COMPOSE_STACK === 'v2' ? 'v2' : 'v1';

/** "[stack v2: Compose 2.26 on Engine 26.1]": every suite's name carries it, so the log says where it ran. */
export const STACK_LABEL = `[stack ${STACK}: Compose ${STACKS[STACK].compose} on Engine ${STACKS[STACK].engine}]`;

/** The Compose command of the stack under test, as an argv prefix. */
export function composeArgv(): string[] {
  const raw = process.env.PHASE_COMPOSE_COMPOSE_ARGV;
  return raw ? (JSON.parse(raw) as string[]) : ['docker-compose'];
}

/** A spec's text with its `target:` line set to the stack under test. */
export function retarget(specText: string): string {
  const out = specText.replace(/^target: .*$/m, `target: ${STACKS[STACK].target}`);
  if (out === specText && !specText.includes(`target: ${STACKS[STACK].target}`)) throw new Error('spec has no top-level `target:` line to set');
  return out;
}

/** Matches a Compose container name of `service`'s first replica, in v1 (`p_s_1`) or v2 (`p-s-1`) style. */
export const containerNamePattern = (service: string): RegExp => new RegExp(`[_-]${service}[_-]1\\b`);
