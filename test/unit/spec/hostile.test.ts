// Issue #11: validation that matches what Compose accepts, with a located message and a hint for every problem.
import { describe, expect, it } from 'vitest';
import { findCycle, waves } from '../../../src/spec/graph.js';
import { parsePublishedPort } from '../../../src/spec/semantic.js';
import { problemsOf, proxySpecYaml, specOf, y } from '../helpers.js';
import { generateCompose } from '../../../src/model/compose.js';
import { MAX_INTERPOLATION_NESTING } from '../../../src/spec/interpolation.js';

/** A service merged from another with `<<: *base` (numbers in its environment as written). */
const mergedSpec = y`
  name: demo
  services:
    web: &base
      image: app:1
      environment: { A: 1.10 }
    worker:
      <<: *base
      command: [work]
`;
const svc = (extra: string) => `name: demo\nservices:\n  web:\n    image: app:1\n${extra}`;

describe('published ports (item 10: arithmetic ranges; item 11: Compose bounds)', () => {
  it('parses ranges without expanding them', () => {
    expect(parsePublishedPort('49152-65535:49152-65535/udp')).toEqual({ ip: '0.0.0.0', host: [49152, 65535], container: [49152, 65535], proto: 'udp' });
    expect(parsePublishedPort('1-4000000000:80')).toBe('host port 4000000000 is out of range (1-65535)');
    expect(parsePublishedPort('70000:80')).toBe('host port 70000 is out of range (1-65535)');
    expect(parsePublishedPort('80:99999')).toBe('container port 99999 is out of range (1-65535)');
    expect(parsePublishedPort('9000-8000:80')).toBe('host port range 9000-8000 runs backwards');
    expect(parsePublishedPort('8000-8010:80-82')).toBe('host range 8000-8010 and container range 80-82 differ in size');
  });

  it.each([
    ['"1-4000000000:80"', 'host port 4000000000 is out of range (1-65535)'],
    ['"70000:80"', 'host port 70000 is out of range (1-65535)'],
    ['"8080:99999"', 'container port 99999 is out of range (1-65535)'],
    ['"99999"', 'container port 99999 is out of range (1-65535)'],
  ])('rejects %s at the entry, with a hint', (port, message) => {
    expect(problemsOf(svc(`    ports: [${port}]\n`))).toEqual([`spec.yaml:5:13: error: services.web.ports[0]: ${message}\n    hint: ports are 1-65535; a range is FROM-TO, e.g. "8000-8010:8000-8010"`]);
  });

  it('IP::CONTAINER (an ephemeral host port on one address, as Compose reads it) passes, and has no host side to clash', () => {
    expect(parsePublishedPort('127.0.0.1::80')).toEqual({ ip: '127.0.0.1', container: [80, 80], proto: 'tcp' });
    expect(parsePublishedPort('127.0.0.1::8000-8002/udp')).toEqual({ ip: '127.0.0.1', container: [8000, 8002], proto: 'udp' });
    expect(problemsOf(svc('    ports: ["127.0.0.1::80", "127.0.0.1::80"]\n'))).toEqual([]);
    expect(problemsOf(svc('    replicas: 3\n    ports: ["127.0.0.1::80"]\n'))).toEqual([]);
    // Still refused: no address before the empty host side, and a third colon.
    expect(problemsOf(svc('    ports: ["::80"]\n'))).toEqual([expect.stringMatching(/ports\[0\]: the string "::80" is not a valid value here/) as unknown as string]);
    expect(problemsOf(svc('    ports: ["127.0.0.1:::80"]\n'))).toEqual([expect.stringMatching(/is not a valid value here/) as unknown as string]);
  });

  it('accepts a full high range, and finds a clash inside overlapping ranges', () => {
    expect(problemsOf(svc('    ports: ["49152-65535:49152-65535/udp"]\n'))).toEqual([]);
    expect(problemsOf(svc('    ports: ["8000-8100:8000-8100", "127.0.0.1:8050-8060:80-90", "8050/udp"]\n'))).toEqual([
      'spec.yaml:5:36: error: services.web.ports[1]: host port 8050/tcp is already published by services.web\n    hint: pick another host port',
    ]);
  });

  it('bounds the pairwise clash check', () => {
    const ports = Array.from({ length: 1001 }, (_, i) => `"${i + 1}:80"`).join(', ');
    expect(problemsOf(svc(`    ports: [${ports}]\n`))).toEqual([
      expect.stringMatching(/services\.web\.ports\[1000\]: more than 1000 published host ports\n    hint: publish a range/) as unknown as string,
    ]);
  });
});

describe('checks that grow with input stay linear (item 10)', () => {
  it('a dependency chain of 50000 services: no stack overflow in cycle search or waves', () => {
    const n = 50000;
    const node = (i: number) => ({ name: `s${i}`, kind: 'service' as const, role: 'service' as const, hasHealthcheck: false, path: `services.s${i}`, deps: i + 1 < n ? [{ on: `s${i + 1}`, condition: 'started' as const, from: '', implicit: false }] : [] });
    const graph = { nodes: new Map(Array.from({ length: n }, (_, i) => [`s${i}`, node(i)])) };
    expect(findCycle(graph)).toBeUndefined();
    expect(waves(graph)).toHaveLength(n);
    graph.nodes.get(`s${n - 1}`)!.deps.push({ on: 's0', condition: 'started', from: '', implicit: false });
    expect(findCycle(graph)).toHaveLength(n + 1);
  });

  it('refuses a spec over 64 KiB at once, with a hint', () => {
    expect(problemsOf(svc(`    labels: { a: "${'x'.repeat(200 * 1024)}" }\n`))).toEqual([
      'spec.yaml:1:1: error: the spec is 201 KiB; at most 64 KiB is read\n    hint: a deployment spec is a few KB: check that -f names the right file',
    ]);
  });

  it('many unknown references: suggestions stop when their budget is spent, hints stay short', () => {
    const text = `name: demo\nservices:\n${Array.from({ length: 1300 }, (_, i) => `  s${i}:\n    image: a\n    depends_on: [x${i}yz]\n`).join('')}`;
    const out = problemsOf(text);
    expect(out).toHaveLength(1300);
    for (const l of out) expect(l.length).toBeLessThan(300);
  });
});

describe('YAML reading (items 13, 14)', () => {
  it('refuses deep nesting with a located message instead of overflowing the stack', () => {
    expect(problemsOf(svc(`    labels: ${'['.repeat(5000)}${']'.repeat(5000)}\n`))).toEqual([
      'spec.yaml:5:74: error: YAML nesting deeper than 64 levels\n    hint: a deployment spec is a few levels deep: check the indentation and the brackets here',
    ]);
    const block = Array.from({ length: 200 }, (_, i) => `${' '.repeat(6 + i)}k${i}:\n`).join('');
    expect(problemsOf(svc(`    labels:\n${block}`))[0]).toMatch(/^spec\.yaml:\d+:\d+: error: YAML nesting deeper than 64 levels/);
    // A normal spec is nowhere near the bound.
    expect(problemsOf(svc('    labels: { a: "1" }\n'))).toEqual([]);
  });

  it('reports an unclosed quote where it opens', () => {
    expect(problemsOf('name: demo\nservices:\n  web:\n    image: "app\n    command: [x]\n')).toEqual([
      'spec.yaml:4:12: error: YAML syntax: this double-quoted string is never closed\n    hint: add the closing " on this line',
    ]);
  });

  it('a second document: says one document is expected, at the second one', () => {
    expect(problemsOf(`${svc('')}---\nname: other\n`)).toEqual([
      'spec.yaml:5:1: error: one YAML document expected, but a second one starts here\n    hint: a spec is a single document: remove the "---" line and what follows, or split it into two spec files',
    ]);
  });

  it('${...} unquoted inside { }: the hint is about quoting', () => {
    const out = problemsOf('name: demo\ndata:\n  postgres: { image: pg, database: ${DB}, user: u, password: "${P}" }\nservices:\n  web:\n    image: app:1\n');
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^spec\.yaml:3:\d+: error: YAML syntax: .*\n    hint: inside \{ \} or \[ \], quote values that contain \$\{\.\.\.\}: write key: "\$\{VAR\}"$/);
  });

  it('duplicate keys are reported (found in one pass)', () => {
    expect(problemsOf(svc('    image: app:2\n'))).toEqual([
      'spec.yaml:5:5: error: YAML syntax: key "image" appears twice in this map\n    hint: remove or rename one of them',
    ]);
  });

  it('a merge key with something other than a map is a located problem, not a crash (found by the fuzz test)', () => {
    expect(problemsOf(svc('    environment:\n      <<: 0\n'))).toEqual([
      'spec.yaml:6:7: error: YAML merge key "<<" needs a map to merge\n    hint: write <<: *anchor, where &anchor names a map',
    ]);
  });

  it('accepts merge keys (<<: *base): validates and generates as the expanded form', () => {
    const merged = specOf(mergedSpec);
    const expanded = specOf(y`
      name: demo
      services:
        web:
          image: app:1
          environment: { A: "1.10" }
        worker:
          image: app:1
          environment: { A: "1.10" }
          command: [work]
    `);
    expect(merged).toEqual(expanded);
    expect(generateCompose(merged)).toEqual(generateCompose(expanded));
  });
});

describe('interpolation follows the target Compose (item 11)', () => {
  const env = (value: string, compose = '1.29') => problemsOf(`name: demo\ntarget: { compose: "${compose}" }\nservices:\n  web:\n    image: app:1\n    environment:\n      A: '${value}'\n`);
  const hint = '\n    hint: write $$ for a literal $; a reference is ${VAR}, ${VAR:-default} or ${VAR:?error}';

  it.each([
    ['${UNTERMINATED', '"${UNTERMINATED" is never closed with "}"'],
    ['${}', '"${}" names no variable'],
    ['${X:+y}', '"${X:+...}" needs Compose v2; Compose 1.29 reads only ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, $VAR and $$'],
    ['price $5', '"$" must start $VAR, ${VAR} or $$ (a literal $), not "$5"'],
    ['ends with $', '"$" must start $VAR, ${VAR} or $$ (a literal $), not end the value'],
    ['${A:-x', '"${A:-x" is never closed with "}"'],
    ['${1A}', '"${" must be followed by a variable name, not "${1"'],
  ])('1.29 rejects %s', (value, why) => {
    expect(env(value)).toEqual([`spec.yaml:7:7: error: services.web.environment.A: Compose 1.29 cannot interpolate this value: ${why}${hint}`]);
  });

  it.each(['${A}', '$A and $$literal', '${A:-default}', '${A-d}', '${A:?set A}', '${A?e}', 'plain', '$$5'])('1.29 accepts %s', (value) => {
    expect(env(value)).toEqual([]);
  });

  it('v2 accepts :+ and nested references, and still rejects unterminated ones', () => {
    expect(env('${X:+y}', '2.20.2')).toEqual([]);
    expect(env('${A:-${B:-c}}', '2.20.2')).toEqual([]);
    expect(env('${A:-${B', '2.20.2')[0]).toMatch(/Compose 2\.20\.2 cannot interpolate this value: "\$\{A:-\$\{B" is never closed/);
  });

  it('bounds the nesting it checks: 8000 levels (48 KB) are refused with a line, where they overflowed the stack', () => {
    const nest = (n: number) => `\${A:-`.repeat(n) + 'x' + '}'.repeat(n);
    expect(env(nest(MAX_INTERPOLATION_NESTING), '2.20.2')).toEqual([]);
    expect(env(nest(MAX_INTERPOLATION_NESTING + 1), '2.20.2')).toHaveLength(1);
    const deep = env(nest(8000), '2.20.2');
    expect(deep).toHaveLength(1);
    expect(deep[0]).toContain(`Compose 2.20.2 cannot interpolate this value: \${...} nested more than ${MAX_INTERPOLATION_NESTING} deep in defaults: phase-compose checks no deeper`);
  });

  it('checks every value that reaches Compose, and not those escaped or sent elsewhere', () => {
    const out = problemsOf(y`
      name: demo
      target: { compose: "1.29" }
      services:
        web:
          image: "app:\${TAG"
          command: [echo, "\${}"]
      maintenance:
        purge: { service: web, argv: [purge, "$x"] }
    `);
    expect(out.map((l) => l.split(': error: ')[1]!.split(':')[0])).toEqual(['services.web.image', 'services.web.command[1]']);
  });

  it('leaves the proxy\'s config path alone: the generator writes it with $ escaped', () => {
    const spec = proxySpecYaml().replace('config: nginx.conf', 'config: "nginx/a$5.conf"').replace('name: demo', 'name: demo\ntarget: { compose: "1.29" }');
    expect(problemsOf(spec)).toEqual([]);
    expect(JSON.stringify(generateCompose(specOf(spec)).compose.services.nginx)).toContain("nginx/a$$5.conf");
  });
});

describe('proxy routes', () => {
  it('one path routed twice is refused on its line: nginx would refuse the config ("duplicate location")', () => {
    const spec = proxySpecYaml();
    const twice = spec.replace(/(routes:\n)((\s+)- \{[^\n]*\n)/, '$1$2$2');
    expect(twice).not.toBe(spec);
    expect(problemsOf(twice)).toEqual([expect.stringMatching(/error: proxy\.routes\[1\]\.path: path "[^"]+" is routed twice \(also proxy\.routes\[0\]\)/)]);
    expect(problemsOf(spec)).toEqual([]);
  });

  it('a path with %XX escapes is refused: nginx matches the decoded path, so it would never match', () => {
    expect(problemsOf(proxySpecYaml(undefined, '/api%2Dv1'))).toEqual([
      expect.stringMatching(/error: proxy\.routes\[0\]\.path: path "\/api%2Dv1" holds %XX escapes: nginx matches the decoded path.*write it decoded: "\/api-v1"/s),
    ]);
    expect(problemsOf(proxySpecYaml(undefined, '/a%20b'))).toEqual([expect.stringMatching(/proxy\.routes\[0\]\.path: .*it decodes to " ", which a route path cannot hold/s)]);
    expect(problemsOf(proxySpecYaml(undefined, '/api-v1'))).toEqual([]);
  });

  it('a route to a port outside 1 to 65535 is refused on its line', () => {
    for (const port of ['0', '65536', '99999999999999999999']) {
      const spec = proxySpecYaml().replace('to: "web:80"', `to: "web:${port}"`);
      expect(problemsOf(spec), port).toEqual([expect.stringContaining(`error: proxy.routes[0].to: port ${port} in "web:${port}" is not a TCP port`)]);
    }
    expect(problemsOf(proxySpecYaml().replace('to: "web:80"', 'to: "web:65535"'))).toEqual([]);
  });
});

describe('task parameters the CLI keeps for itself', () => {
  it.each(['version', 'help', 'file', 'yes', 'project_name', 'p'])('a parameter named %s is refused: exec <task> --%s would never reach it', (name) => {
    const out = problemsOf(`name: demo\nservices:\n  web:\n    image: app:1\nmaintenance:\n  pin:\n    service: web\n    argv: [echo, "{${name}}"]\n    params: { ${name}: { type: string, required: true } }\n`);
    expect(out).toEqual([expect.stringContaining(`error: maintenance.pin.params.${name}: parameter "${name}" is read as phase-compose's own --${name.replace(/_/g, '-')}, never the task's`)]);
  });
  it('any other name is the task\'s', () => {
    expect(problemsOf('name: demo\nservices:\n  web:\n    image: app:1\nmaintenance:\n  pin:\n    service: web\n    argv: [echo, "{to}"]\n    params: { to: { type: string, required: true } }\n')).toEqual([]);
  });
});

describe('Compose-schema bounds (item 11)', () => {
  it('replicas: 1e+23 is refused, with a hint', () => {
    expect(problemsOf(svc('    replicas: 1e+23\n'))).toEqual(['spec.yaml:5:5: error: services.web.replicas: number 1e+23 must be <= 1000\n    hint: Number of containers (`deploy.replicas`), 0-1000.']);
  });
});

describe('numbers in environment keep their source text (item 12)', () => {
  it('1.10, a 20-digit ID and 0xDEADBEEF reach the compose file as written', () => {
    const spec = specOf(svc('    environment:\n      VERSION: 1.10\n      ID: 12345678901234567890\n      MASK: 0xDEADBEEF\n      N: 007\n      ON: true\n'));
    expect(generateCompose(spec).compose.services.web!.environment).toEqual({ VERSION: '1.10', ID: '12345678901234567890', MASK: '0xDEADBEEF', N: '007', ON: 'true' });
  });

  it('values a merge key brings in are kept as written too, explicit keys still win, the merged map is left alone', () => {
    // Until 2026-11-29 only an env map's own pairs were: `<<: *common` gave 1.1, true and 1.2345678901234568e+19.
    const spec = specOf(y`
      name: demo
      services:
        web:
          image: app:1
          environment: &common { VERSION: 1.10, DEBUG: True, ID: 12345678901234567890, KEEP: 2 }
        extra:
          image: app:1
          environment: &more { EXTRA: 0x1F, VERSION: 9 }
        api:
          image: app:1
          environment:
            <<: *common
            KEEP: "explicit"
        tpl: &base
          image: app:1
          environment: { <<: [*more, *common], OWN: 1.50 }
        worker:
          <<: *base
          command: [work]
        scaler:
          image: app:1
          replicas: &two 2
          environment: { TWO: *two }
    `);
    expect(spec.services.api!.environment).toEqual({ VERSION: '1.10', DEBUG: 'True', ID: '12345678901234567890', KEEP: 'explicit' });
    // The earlier merged map wins a key both hold: VERSION from *more.
    expect(spec.services.worker!.environment).toEqual({ EXTRA: '0x1F', VERSION: '9', DEBUG: 'True', ID: '12345678901234567890', KEEP: '2', OWN: '1.50' });
    expect(spec.services.tpl!.environment).toEqual(spec.services.worker!.environment);
    // An aliased number keeps its number where it is not an environment value.
    expect(spec.services.scaler!.replicas).toBe(2);
    expect(spec.services.scaler!.environment).toEqual({ TWO: '2' });
  });

  it('a number in a secret-like key is a secret written as a value', () => {
    expect(problemsOf(svc('    environment: { DATABASE_PASSWORD: 123456 }\n'))).toEqual([
      'spec.yaml:5:20: error: services.web.environment.DATABASE_PASSWORD: looks like a secret written as a value\n    hint: put it in your env file and write "${DATABASE_PASSWORD}" here',
    ]);
  });
});

describe('every problem has a hint (item 13)', () => {
  it.each([
    ['an empty file', '', 'spec.yaml:1:1: error: the spec is empty (no YAML content, only comments or blank lines)\n    hint: start from `phase-compose init`, or write at least name: <project> and services: with one service and its image'],
    ['a comment-only file', '# nothing yet\n\n', 'spec.yaml:1:1: error: the spec is empty (no YAML content, only comments or blank lines)\n    hint: start from `phase-compose init`, or write at least name: <project> and services: with one service and its image'],
    ['a null', svc('    user:\n'), 'spec.yaml:5:5: error: services.web.user: expected a string, got null\n    hint: nothing follows the colon, so the value is null: write a string there, or remove the key'],
    ['a command given as a string', svc('    command: python manage.py migrate\n'), 'spec.yaml:5:5: error: services.web.command: expected a list, got the string "python manage.py migrate"\n    hint: write a list, one element per argument: ["python", "manage.py", "migrate"] (no shell splits it)'],
    ['an invalid service name, at the name', 'name: demo\nservices:\n  Web_X:\n    image: a\n', 'spec.yaml:3:3: error: services.Web_X: "Web_X" is not a valid name here\n    hint: use lower-case letters, digits, - and _, starting with a letter or digit (^[a-z0-9][a-z0-9_-]*$)'],
  ])('%s', (_name, text, expected) => {
    expect(problemsOf(text)).toEqual([expected]);
  });

  it('type errors of every kind carry a hint', () => {
    for (const extra of ['    ports: [{ a: 1 }]\n', '    depends_on: 3\n', '    environment: [A]\n', '    replicas: -1\n', '    volumes: []\n    env_file: []\n', '    labels: { a: 1 }\n', '    restart: sometimes\n']) {
      const out = problemsOf(svc(extra));
      expect(out.length, extra).toBeGreaterThan(0);
      for (const l of out) expect(l, extra).toContain('\n    hint: ');
    }
  });
});

describe('odd values (item 15)', () => {
  it('several healthcheck kinds at once, and an empty healthcheck', () => {
    expect(problemsOf(svc('    healthcheck: { http: { port: 80 }, command: [ok] }\n'))).toEqual([
      'spec.yaml:5:40: error: services.web.healthcheck.command: gives http and command: a healthcheck runs one check\n    hint: keep one of http, command',
    ]);
    expect(problemsOf(svc('    healthcheck: {}\n'))).toEqual([
      'spec.yaml:5:5: error: services.web.healthcheck: has no check\n    hint: add http: { port: N }, tcp: { port: N } or command: [...], or disable: true',
    ]);
  });

  it('retention.every under a minute', () => {
    const spec = (every: string) => problemsOf(`${svc('')}maintenance:\n  purge: { service: web, argv: [purge] }\nretention: { task: purge, every: ${every}, params: {} }\n`);
    expect(spec('0s')).toEqual([
      'spec.yaml:7:27: error: retention.every: runs the task every 0s: at least 1m between runs\n    hint: each run scans and deletes rows and holds locks on the table: a purge runs every few hours, e.g. every: 24h',
    ]);
    expect(spec('59s')).toHaveLength(1);
    expect(spec('1m')).toEqual([]);
  });
});

describe('migrations.deadline', () => {
  it('is a duration of at least a minute', () => {
    const spec = (deadline: string) => problemsOf(`${svc('')}migrations:\n  image: app\n  command: [migrate]\n  before: [web]\n  deadline: ${deadline}\n`);
    expect(spec('30s')).toEqual([
      'spec.yaml:9:3: error: migrations.deadline: stops a migration after 30s: at least 1m\n    hint: the deadline counts the wait for the database too; a migration of a large table takes minutes: e.g. deadline: 1h',
    ]);
    expect(spec('1m')).toEqual([]);
    expect(spec('2h')).toEqual([]);
    expect(spec('soon')).toHaveLength(1);
  });
});

describe('numbers as written apply to environment maps only (item 12)', () => {
  it('a task parameter named "environment" keeps its integer default; merged env maps keep source text', () => {
    const spec = specOf(`${mergedSpec}${y`
      maintenance:
        purge:
          service: web
          argv: [purge, { if: environment, args: ["{environment}"] }]
          params: { environment: { type: integer, default: 5 } }
    `}`);
    expect(spec.maintenance!.purge!.params!.environment!.default).toBe(5);
    expect(spec.services.worker!.environment).toEqual({ A: '1.10' });
  });
});

describe('backups.compress: a zlib level', () => {
  it.each([[10, 'must be <= 9'], [-1, 'must be >= 0'], [1.5, 'expected a whole number']])('%s is refused', (level, why) => {
    const problems = problemsOf(`${svc('')}backups:\n  compress: ${level}\n`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`backups.compress`);
    expect(problems[0]).toContain(why);
  });

  it('0 to 9 is accepted', () => {
    for (const level of [0, 1, 9]) expect(problemsOf(`${svc('')}backups:\n  compress: ${level}\n`)).toEqual([]);
  });
});
