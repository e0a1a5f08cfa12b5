// Fuzzed deployment specs (issue #11): generated specs, and mutations of the examples. Shared by the
// unit fuzz test (no input crashes or takes > 1 s; accepted specs generate schema-valid Compose) and
// the e2e sample that runs the real Compose's `config -q` on accepted ones.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { checkSpecText, type CheckResult } from '../../src/spec/check.js';
import validate from '../../src/spec/generated/validate-spec.js';
import schema from '../../schema/phase-compose.schema.json' with { type: 'json' };

const examplesDir = fileURLToPath(new URL('../../examples/', import.meta.url));
/** The examples' spec texts. */
export const exampleSpecs: string[] = readdirSync(examplesDir, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => readFileSync(`${examplesDir}${d.name}/phase-compose.yaml`, 'utf8'));

/** Runs the spec pipeline exactly as `validate` does. */
export const check = (text: string): CheckResult => checkSpecText(text, 'phase-compose.yaml', validate, schema as Record<string, unknown>);

const nasty = fc.constantFrom('$', '$$', '${', '}', '{', '[', ']', '\n', '"', "'", '#', ': ', '- ', '${X}', '${X:+y}', '${}', '\\', '&a', '*a', '<<', '!!str', '\t', '%', '@', '`', '|', '>');
/** Strings with YAML- and Compose-significant pieces mixed in. */
const text = fc.array(fc.oneof(fc.string({ maxLength: 8 }), nasty), { maxLength: 5 }).map((xs) => xs.join(''));
const scalar = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constantFrom('1.10', '0xDEADBEEF', '12345678901234567890', '1e+23', 'yes', 'no', '~'));

const name = fc.constantFrom('web', 'worker', 'api', 'db', 'seed', 'migrations', 'nginx', 'postgres', 'x_1', 'a-b');
const port = fc.oneof(
  fc.integer({ min: -1, max: 70000 }),
  fc.tuple(fc.integer({ min: 0, max: 70000 }), fc.integer({ min: 0, max: 70000 }), fc.constantFrom('', '/tcp', '/udp')).map(([h, c, p]) => `${h}:${c}${p}`),
  fc.tuple(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 0, max: 4_000_000_000 })).map(([a, b]) => `${a}-${b}:80`),
  fc.constantFrom('49152-65535:49152-65535/udp', '127.0.0.1:8080:80', '8000', '1-4000000000:80'),
);
const argv = fc.array(text, { minLength: 1, maxLength: 3 });
const healthcheck = fc.oneof(
  fc.record({ http: fc.record({ port: fc.integer({ min: 0, max: 70000 }), path: fc.constantFrom('/', '/health/', '/a?b=1') }) }),
  fc.record({ tcp: fc.record({ port: fc.integer({ min: 1, max: 65535 }) }) }),
  fc.record({ command: argv }),
  fc.record({ disable: fc.boolean() }),
  fc.constant({}),
  fc.record({ http: fc.record({ port: fc.constant(80) }), command: argv }),
);
const service = (names: string[]) =>
  fc.record(
    {
      image: fc.oneof(fc.constantFrom('app:1', 'nginx:alpine', '${IMAGE}', 'app:${TAG:-latest}'), text),
      role: fc.constantFrom('service', 'job'),
      command: fc.oneof(argv, text),
      environment: fc.dictionary(fc.oneof(fc.constantFrom('A', 'SECRET_KEY', 'DEBUG', 'PORT', 'DATABASE_PASSWORD'), text), scalar, { maxKeys: 4 }),
      ports: fc.array(port, { maxLength: 3 }),
      replicas: fc.oneof(fc.integer({ min: -1, max: 5 }), fc.constant(1e23)),
      restart: fc.constantFrom('no', 'always', 'unless-stopped', 'sometimes'),
      healthcheck,
      depends_on: fc.oneof(fc.subarray(names), fc.dictionary(fc.constantFrom(...names), fc.constantFrom('started', 'healthy', 'completed', 'done'))),
      labels: fc.dictionary(fc.constantFrom('a', 'b.c'), text),
      volumes: fc.array(fc.constantFrom('data:/data', './x:/x', '${HOME}:/h', '/var/run/docker.sock:/s:ro'), { maxLength: 2 }),
    },
    { requiredKeys: ['image'] },
  );

/** Values a valid spec may hold: the tame generator builds specs that are mostly accepted. */
const safeText = fc.oneof(fc.stringMatching(/^[A-Za-z0-9 ._:\/,=-]{0,12}$/), fc.constantFrom('${A}', '$$x', '1.10', 'a$$b', '${B:-d}', '${C:?set C}', 'yes', 'null', '0'));
const tameService = (names: string[], i: number) =>
  fc.record(
    {
      image: fc.constantFrom('app:1', 'nginx:alpine', '${IMAGE}', 'app:${TAG:-latest}'),
      command: fc.array(safeText, { minLength: 1, maxLength: 3 }),
      environment: fc.dictionary(fc.constantFrom('A', 'DEBUG', 'PORT', 'LOG_LEVEL', 'WORKERS'), fc.oneof(safeText, fc.integer(), fc.boolean(), fc.constantFrom(1.5, 0))),
      ports: fc.constantFrom([], [8000 + i], [`${9000 + i}:80`], [`127.0.0.1:${9100 + i}:80/udp`], [`${10000 + 100 * i}-${10000 + 100 * i + 50}:${10000 + 100 * i}-${10000 + 100 * i + 50}`]),
      replicas: fc.integer({ min: 0, max: 1 }),
      restart: fc.constantFrom('no', 'always', 'unless-stopped', 'on-failure'),
      healthcheck: fc.oneof(fc.record({ http: fc.record({ port: fc.integer({ min: 1, max: 65535 }), path: fc.constantFrom('/', '/health/') }) }), fc.record({ tcp: fc.record({ port: fc.integer({ min: 1, max: 65535 }) }) }), fc.record({ command: fc.array(safeText, { minLength: 1, maxLength: 2 }), interval: fc.constantFrom('1s', '500ms', '1m30s') }), fc.constant({ disable: true })),
      depends_on: fc.subarray(names.slice(i + 1)),
      labels: fc.dictionary(fc.constantFrom('a', 'b.c', 'com.example.x'), safeText, { maxKeys: 2 }),
      volumes: fc.subarray(['data:/data', './x:/x', '${HOME}:/h', '/var/run/docker.sock:/s:ro']),
      working_dir: fc.constantFrom('/app', '/srv'),
    },
    { requiredKeys: ['image'] },
  );
const tameSpec = fc
  .uniqueArray(fc.constantFrom('web', 'worker', 'api', 'app', 'x_1', 'a-b'), { minLength: 1, maxLength: 4 })
  .chain((names) =>
    fc.record(
      {
        name: fc.constantFrom('demo', 'a-b', 'x_1'),
        target: fc.record({ compose: fc.constantFrom('1.29', '2.20.2', '2.24.0'), engine: fc.constantFrom('20.10', '25.0') }),
        services: fc.tuple(...names.map((_, i) => tameService(names, i))).map((ss) => Object.fromEntries(names.map((n, i) => [n, ss[i]]))),
        data: fc.record({ postgres: fc.constant({ image: 'postgres:16', database: '${DB}', user: '${U}', password: '${P}' }), redis: fc.constant({ image: 'redis:7', password: '${R}' }) }, { requiredKeys: [] }),
        env_file: fc.constantFrom('.env', ['.env', 'extra.env']),
      },
      { requiredKeys: ['name', 'services'] },
    ),
  )
  .map((spec) => stringify(spec));

/** Whole specs built from anything, serialised as YAML (with some top-level sections). */
const wildSpec: fc.Arbitrary<string> = fc
  .uniqueArray(name, { minLength: 1, maxLength: 4 })
  .chain((names) =>
    fc.record(
      {
        name: fc.constantFrom('demo', 'Demo', 'a-b'),
        target: fc.record({ compose: fc.constantFrom('1.29', '2.20.2', '2.24.0'), engine: fc.constantFrom('20.10', '25.0') }),
        services: fc.tuple(...names.map(() => service(names))).map((ss) => Object.fromEntries(names.map((n, i) => [n, ss[i]]))),
        data: fc.record({ postgres: fc.record({ image: fc.constant('postgres:16'), database: fc.constantFrom('${DB}', 'app'), user: fc.constant('${U}'), password: fc.constantFrom('${P}', 'hunter2', '${P') }) }, { requiredKeys: [] }),
        migrations: fc.record({ same_image_as: fc.constantFrom(...names), command: argv, before: fc.subarray(names) }),
        maintenance: fc.constant({ purge: { service: names[0], argv: ['purge', '{org}'], params: { org: { type: 'string', required: true } } } }),
        retention: fc.record({ task: fc.constant('purge'), every: fc.constantFrom('0s', '30s', '1m', '24h'), params: fc.record({ org: text }) }),
      },
      { requiredKeys: ['name', 'services'] },
    ),
  )
  .map((spec) => stringify(spec));

/** Generated specs: wild ones (mostly rejected) and tame ones (mostly accepted). */
export const generatedSpec: fc.Arbitrary<string> = fc.oneof(wildSpec, tameSpec);

/** One edit of a spec's text: line deletion, duplication, type swap, random strings, `$`/`{`/newline injection. */
const mutation = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('value' as const), at: fc.nat(), value: fc.oneof(text, fc.constantFrom('1e+23', '70000', 'null', '[]', '{}', 'true', '0', '-1', '"${X:+y}"', '${UNTERMINATED', '[python, {x}]', '"1-4000000000:80"')) }),
  fc.record({ op: fc.constant('key' as const), at: fc.nat(), value: text }),
  fc.record({ op: fc.constant('inject' as const), at: fc.nat(), col: fc.nat(), value: fc.constantFrom('$', '{', '}', '\n', '${', '"', "'", '\t', '<<: *x\n', ': ', '#') }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(textIn: string, m: Mutation): string {
  const lines = textIn.split('\n');
  const i = m.at % lines.length;
  const line = lines[i]!;
  switch (m.op) {
    case 'delete':
      lines.splice(i, 1);
      break;
    case 'duplicate':
      lines.splice(i, 0, line);
      break;
    case 'value':
      lines[i] = line.includes(': ') ? `${line.slice(0, line.indexOf(': ') + 2)}${m.value}` : line.replace(/^(\s*- ).*/, `$1${m.value}`);
      break;
    case 'key':
      lines[i] = line.replace(/^(\s*)[^\s:#-][^:]*:/, (_, ws: string) => `${ws}${m.value}:`);
      break;
    case 'inject': {
      const c = m.col % (line.length + 1);
      lines[i] = `${line.slice(0, c)}${m.value}${line.slice(c)}`;
      break;
    }
  }
  return lines.join('\n');
}

/** An example with one to four edits. */
export const mutatedExample: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(...exampleSpecs), fc.array(mutation, { minLength: 1, maxLength: 4 }))
  .map(([t, ms]) => ms.reduce(mutate, t));

/** Either kind. */
export const fuzzedSpec: fc.Arbitrary<string> = fc.oneof(generatedSpec, mutatedExample);
