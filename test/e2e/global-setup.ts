// Global setup of the e2e project: the Docker test bed must be up (scripts/testbed.sh, run by `npm test`
// before vitest) and the CLI must be built from the current sources. Never skips: missing pieces throw.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURE_IMAGES, PROJECT_PREFIX } from './helpers/docker.js';
import { run } from './helpers/run.js';
import { REPO_ROOT } from './helpers/stack.js';

export default function setup(): void {
  const info = run('docker', ['info', '--format', '{{.ServerVersion}}']);
  if (info.code !== 0) {
    throw new Error(
      `Docker end-to-end tests need a Docker Engine, but \`docker info\` failed:\n${info.stderr.trim()}\n` +
        'Start the test bed with: bash scripts/testbed.sh',
    );
  }
  const composeV = run('docker-compose', ['version', '--short']);
  if (composeV.code !== 0) {
    throw new Error('docker-compose (Compose v1) is not installed. Run: bash scripts/testbed.sh');
  }
  const missing = FIXTURE_IMAGES.filter((img) => run('docker', ['image', 'inspect', img]).code !== 0);
  if (missing.length > 0) {
    throw new Error(`fixture images missing: ${missing.join(', ')}. Build them with: bash scripts/testbed.sh`);
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
    `e2e: Docker Engine ${info.stdout.trim()}, docker-compose ${composeV.stdout.trim()}, ` +
      `fixture images present; test projects are named ${PROJECT_PREFIX}-*`,
  );
}
