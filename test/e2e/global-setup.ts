// Global setup of the e2e project: the Docker test bed must be up (scripts/testbed.sh <stack>, run by
// `npm test` before vitest) with the Compose and Engine of the stack under test, and the CLI must be built
// from the current sources. Never skips: missing pieces throw.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { STACK, STACKS, composeArgv } from './helpers/compose.js';
import { FIXTURE_IMAGES, PROJECT_PREFIX } from './helpers/docker.js';
import { run } from './helpers/run.js';
import { REPO_ROOT } from './helpers/stack.js';

export default function setup(): void {
  const want = STACKS[STACK];
  const bed = `Start the test bed with: set -a; eval "$(PHASE_COMPOSE_SWITCH_ENGINE=1 bash scripts/testbed.sh ${STACK})"; set +a`;
  const info = run('docker', ['version', '--format', '{{.Server.Version}}']);
  if (info.code !== 0) {
    throw new Error(`Docker end-to-end tests need a Docker Engine, but \`docker version\` failed:\n${info.stderr.trim()}\n${bed}`);
  }
  const engine = info.stdout.trim();
  const [cmd, ...pre] = composeArgv();
  const composeV = run(cmd!, [...pre, 'version', '--short']);
  const compose = composeV.stdout.trim().replace(/^v/, '');
  if (composeV.code !== 0) throw new Error(`${composeArgv().join(' ')} does not run.\n${bed}`);
  if (!engine.startsWith(`${want.engine}.`) || !compose.startsWith(`${want.compose}.`)) {
    throw new Error(`stack ${STACK} wants Compose ${want.compose} on Engine ${want.engine}, but Compose ${compose} on Engine ${engine} answers.\n${bed}`);
  }
  const missing = FIXTURE_IMAGES.filter((img) => run('docker', ['image', 'inspect', img]).code !== 0);
  if (missing.length > 0) {
    throw new Error(`fixture images missing: ${missing.join(', ')}. ${bed}`);
  }
  // Test the current sources, not a stale dist/.
  const build = join(REPO_ROOT, 'scripts/build.mjs');
  if (existsSync(build)) {
    const b = run('node', [build], { cwd: REPO_ROOT });
    if (b.code !== 0) throw new Error(`build failed (node scripts/build.mjs):\n${b.stdout}\n${b.stderr}`);
  }
  if (!existsSync(join(REPO_ROOT, 'dist/cli.js'))) {
    throw new Error('dist/cli.js is missing: run `npm run build`');
  }
  console.log(
    `e2e on stack ${STACK}: Docker Engine ${engine}, Compose ${compose} (${composeArgv().join(' ')}), ` +
      `fixture images present; test projects are named ${PROJECT_PREFIX}-*`,
  );
}
