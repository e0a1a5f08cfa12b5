import { describe, expect, it } from 'vitest';
import { problemsOf, y } from '../helpers.js';

const base = y`
  name: demo
  services:
    web:
      image: app:1
`;

// One row per rule: the spec (appended to nothing: full text) and the exact messages.
const cases: Array<[string, string, string[]]> = [
  ['a valid minimal spec', base, []],
  [
    'YAML syntax error with position',
    'name: demo\nservices:\n  web:\n    image: [unclosed\n',
    [expect.stringMatching(/^spec\.yaml:\d+:\d+: error: YAML syntax: /) as unknown as string],
  ],
  [
    'root must be a map',
    '- a\n- b\n',
    ['spec.yaml:1:1: error: the spec must be a YAML map (name:, services:, ...)\n    hint: write the spec as top-level keys: name: <project>, services: <map of services>, ...'],
  ],
  [
    'unknown key with a suggestion',
    y`
      name: demo
      services:
        web:
          imgae: app:1
          image: app:1
    `,
    ['spec.yaml:4:5: error: services.web.imgae: unknown key "imgae"\n    hint: did you mean "image"? (allowed: role, image, command, entrypoint, env_file, environment, ports, volumes, replicas, restart, healthcheck, depends_on, working_dir, user, labels)'],
  ],
  [
    'missing required key',
    y`
      name: demo
      services:
        web:
          command: [run]
    `,
    ['spec.yaml:3:3: error: services.web: missing required key "image"\n    hint: add "image:" here'],
  ],
  [
    'wrong type',
    y`
      name: demo
      services:
        web:
          image: app:1
          replicas: two
    `,
    ['spec.yaml:5:5: error: services.web.replicas: expected a whole number, got the string "two"\n    hint: write a whole number without quotes, e.g. 3. Number of containers (`deploy.replicas`), 0-1000.'],
  ],
  [
    'enum with did-you-mean',
    y`
      name: demo
      services:
        web:
          image: app:1
          role: jobs
    `,
    ['spec.yaml:5:5: error: services.web.role: the string "jobs" is not allowed\n    hint: use one of: "service", "job" (did you mean "job"?)'],
  ],
  [
    'oneOf reports the branch that fits the value',
    y`
      name: demo
      services:
        web:
          image: app:1
          ports: ["80:80:80:80"]
    `,
    ['spec.yaml:5:13: error: services.web.ports[0]: the string "80:80:80:80" is not a valid value here\n    hint: A published port: `HOST:CONTAINER`, `IP:HOST:CONTAINER`, `IP::CONTAINER` (a host port the Engine picks, on that address), optionally `/tcp` or `/udp`, or a bare container port number.'],
  ],
  [
    'oneOf with a discriminator',
    y`
      name: demo
      services:
        web:
          image: app:1
      proxy:
        image: nginx
        config: n.conf
        routes: [{ path: /, to: "web:80" }]
        client_ip: { mode: header, header: X-Forwarded-For }
    `,
    ['spec.yaml:9:3: error: proxy.client_ip: missing required key "trusted"\n    hint: add "trusted:" here'],
  ],
  [
    'unknown service reference with a suggestion',
    y`
      name: demo
      services:
        web:
          image: app:1
          depends_on: [wrker]
        worker:
          image: app:1
    `,
    ['spec.yaml:5:18: error: services.web.depends_on[0]: service "wrker" is not defined\n    hint: did you mean "worker"?'],
  ],
  [
    'dependency cycle, printed',
    y`
      name: demo
      services:
        a:
          image: app:1
          depends_on: [b]
        b:
          image: app:1
          depends_on: [c]
        c:
          image: app:1
          depends_on: [a]
    `,
    ['spec.yaml:3:3: error: services.a: dependency cycle: a -> b -> c -> a\n    hint: remove one of these dependencies to break the cycle'],
  ],
  [
    'healthy wait on a service without a healthcheck',
    y`
      name: demo
      services:
        web:
          image: app:1
          depends_on: { worker: healthy }
        worker:
          image: app:1
    `,
    ['spec.yaml:5:19: error: services.web.depends_on.worker: waits for "worker" to be healthy, but "worker" has no healthcheck\n    hint: add a healthcheck to "worker" (http, tcp or command), or wait with "started"'],
  ],
  [
    'completed wait on a long-running service',
    y`
      name: demo
      services:
        web:
          image: app:1
          depends_on: { worker: completed }
        worker:
          image: app:1
    `,
    ['spec.yaml:5:19: error: services.web.depends_on.worker: waits for "worker" to complete, but "worker" is a long-running service and never completes\n    hint: wait with "healthy" or "started", or give "worker" role: job'],
  ],
  [
    'duplicate published port',
    y`
      name: demo
      services:
        web:
          image: app:1
          ports: ["8080:80"]
        api:
          image: app:1
          ports: ["127.0.0.1:8080:8000"]
    `,
    ['spec.yaml:8:13: error: services.api.ports[0]: host port 8080/tcp is already published by services.web\n    hint: pick another host port'],
  ],
  [
    'fixed host port on a replicated service',
    y`
      name: demo
      services:
        web:
          image: app:1
          replicas: 3
          ports: ["8080:80"]
    `,
    ['spec.yaml:6:13: error: services.web.ports[0]: publishes host port 8080:80 but has 3 replicas: only one container can bind it\n    hint: publish only the container port (e.g. "8000"), or put the service behind the proxy'],
  ],
  [
    'invalid environment variable name',
    y`
      name: demo
      services:
        web:
          image: app:1
          environment: { "MY-VAR": x }
    `,
    ['spec.yaml:5:20: error: services.web.environment.MY-VAR: "MY-VAR" is not a valid environment variable name\n    hint: use letters, digits and _, not starting with a digit'],
  ],
  [
    'a secret written as a value',
    y`
      name: demo
      services:
        web:
          image: app:1
          environment: { SECRET_KEY: abc123 }
    `,
    ['spec.yaml:5:20: error: services.web.environment.SECRET_KEY: looks like a secret written as a value\n    hint: put it in your env file and write "${SECRET_KEY}" here'],
  ],
  [
    'a database password that is not a reference',
    y`
      name: demo
      data:
        postgres: { image: postgres, database: app, user: app, password: hunter2 }
      services:
        web:
          image: app:1
    `,
    ['spec.yaml:3:58: error: data.postgres.password: must be a ${VAR} reference, not the password itself\n    hint: write password: ${DATABASE_PASSWORD} and put the value in your env file'],
  ],
  [
    'a job nothing waits for is a warning',
    y`
      name: demo
      services:
        web:
          image: app:1
        seed:
          image: app:1
          role: job
    `,
    ['spec.yaml:5:3: warning: services.seed: job "seed" runs but nothing waits for it\n    hint: if it must finish before something starts, add it to that service\'s depends_on'],
  ],
  [
    'migrations: unknown before service and no image',
    y`
      name: demo
      services:
        web:
          image: app:1
      migrations:
        command: [migrate]
        before: [wbe]
    `,
    [
      'spec.yaml:5:1: error: migrations: has neither "image" nor "same_image_as"\n    hint: add image: <image>, or same_image_as: <service running the app>',
      'spec.yaml:7:12: error: migrations.before[0]: service "wbe" is not defined\n    hint: did you mean "web"?',
    ],
  ],
  [
    'post phase with nothing healthy to wait for',
    y`
      name: demo
      services:
        web:
          image: app:1
      migrations:
        same_image_as: web
        command: [migrate]
        before: [web]
        post: { command: [migrate, post] }
    `,
    ['spec.yaml:9:3: error: migrations.post: the post phase has nothing healthy to wait for: none of migrations.before has a healthcheck\n    hint: add a healthcheck to the app service, or list services in migrations.post.after'],
  ],
  [
    'task placeholder not declared',
    y`
      name: demo
      services:
        web:
          image: app:1
      maintenance:
        purge:
          service: web
          argv: [purge, "{org}"]
    `,
    ['spec.yaml:8:19: error: maintenance.purge.argv[1]: placeholder {org} is not a declared parameter\n    hint: declare it under maintenance.purge.params'],
  ],
  [
    'retention names an unknown task',
    y`
      name: demo
      services:
        web:
          image: app:1
      maintenance:
        purge: { service: web, argv: [purge] }
      retention: { task: purg, every: 24h, params: {} }
    `,
    ['spec.yaml:7:14: error: retention.task: task "purg" is not defined in maintenance\n    hint: did you mean "purge"?'],
  ],
  [
    // Before: generated as `interval: "3.6e+29ms"` and `"3000000h"`, which no Compose reads; the retention threw.
    'durations past the longest Compose reads (Go: 2562047h)',
    y`
      name: demo
      services:
        web:
          image: app:1
          healthcheck: { tcp: { port: 80 }, interval: 99999999999999999999999h, timeout: 2562047h }
        api:
          image: app:1
          healthcheck: { tcp: { port: 80 }, start_period: 2562048h }
      maintenance:
        purge: { service: web, argv: [purge] }
      retention: { task: purge, every: 106752d, params: {} }
    `,
    [
      'spec.yaml:5:39: error: services.web.healthcheck.interval: too long a duration: "99999999999999999999999h" (at most 2562047h, the longest Compose reads)\n    hint: a healthcheck timing or a period is seconds to days: e.g. 30s, 24h',
      'spec.yaml:8:39: error: services.api.healthcheck.start_period: too long a duration: "2562048h" (at most 2562047h, the longest Compose reads)\n    hint: a healthcheck timing or a period is seconds to days: e.g. 30s, 24h',
      'spec.yaml:11:27: error: retention.every: too long a duration: "106752d" (at most 2562047h, the longest Compose reads)\n    hint: a healthcheck timing or a period is seconds to days: e.g. 30s, 24h',
    ],
  ],
];

describe('spec checks', () => {
  it.each(cases)('%s', (_name, yaml, expected) => {
    expect(problemsOf(yaml)).toEqual(expected);
  });

  it('reports every problem at once, in file order', () => {
    const out = problemsOf(y`
      name: demo
      services:
        web:
          image: app:1
          depends_on: [ghost]
          environment: { "1X": a }
        api:
          image: app:1
          depends_on: [ghost2]
    `);
    expect(out.map((l) => l.split(': error')[0])).toEqual(['spec.yaml:5:18', 'spec.yaml:6:20', 'spec.yaml:9:18']);
  });
});
