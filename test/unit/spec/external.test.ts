// `data.<name>.external` in the spec: schema, defaults and the semantic rules, with hostile hosts.
import { describe, expect, it } from 'vitest';
import { externalHostProblem, hostKind } from '../../../src/spec/values.js';
import { problemsOf, specOf, y } from '../helpers.js';

const PG = 'database: "${DB}", user: "${DB_USER}", password: "${DB_PASSWORD}"';
const spec = (data: string, extra = '') => y`
  name: demo
  data:
${data}
  services:
    web: { image: app:1 }
${extra}
`;
const HINT = '    hint: give a fully qualified DNS name such as db.example.com or postgres.other-namespace.svc.cluster.local, or an IP address such as 10.0.3.7';

describe('defaults', () => {
  it('fills the standard port; image, volume and healthcheck stay as written', () => {
    const s = specOf(spec(`    postgres: { ${PG}, external: { host: db.example.com } }\n    redis: { external: { host: 10.0.0.7, port: 16379 } }`));
    expect(s.data.postgres).toEqual({ database: '${DB}', user: '${DB_USER}', password: '${DB_PASSWORD}', external: { host: 'db.example.com', port: 5432 } });
    expect(s.data.redis).toEqual({ external: { host: '10.0.0.7', port: 16379 } });
  });
  it('a database the stack runs keeps its defaults', () => {
    const s = specOf(spec(`    postgres: { image: "postgres:16", ${PG} }`));
    expect(s.data.postgres).toMatchObject({ image: 'postgres:16', volume: 'demo-postgres-data', healthcheck: { retries: 3 } });
  });
});

describe('what is required', () => {
  it('image, unless external', () => {
    expect(problemsOf(spec(`    postgres: { ${PG} }\n    redis: { password: "\${R}" }`))).toEqual([
      'spec.yaml:3:3: error: data.postgres: missing required key "image"\n    hint: add "image:" here',
      'spec.yaml:4:3: error: data.redis: missing required key "image"\n    hint: add "image:" here',
    ]);
  });
  it('a host; a port in range; no unknown keys', () => {
    expect(problemsOf(spec(`    postgres: { ${PG}, external: { port: 5432 } }`))).toEqual([
      'spec.yaml:3:82: error: data.postgres.external: missing required key "host"\n    hint: add "host:" here',
    ]);
    expect(problemsOf(spec('    redis: { external: { host: r.example.com, port: 70000 } }'))).toEqual([
      'spec.yaml:3:45: error: data.redis.external.port: number 70000 must be <= 65535\n    hint: use a value of at most 65535',
    ]);
    expect(problemsOf(spec('    redis: { external: { host: r.example.com, tls: true } }'))[0]).toMatch(/^spec.yaml:3:45: error: data.redis.external.tls: unknown key "tls"/);
  });
  it('volume and healthcheck have no meaning for a managed database; a redis image is unused', () => {
    expect(problemsOf(spec(`    postgres: { ${PG}, volume: pgdata, healthcheck: { interval: 5s }, external: { host: db.example.com } }\n    redis: { image: "redis:7", external: { host: r.example.com } }`))).toEqual([
      'spec.yaml:3:82: error: data.postgres.volume: is not used with external: the managed database is not run by the stack, so it keeps its own storage\n    hint: remove data.postgres.volume',
      'spec.yaml:3:98: error: data.postgres.healthcheck: is not used with external: the managed database is not run by the stack, so nothing probes it\n    hint: remove data.postgres.healthcheck',
      'spec.yaml:4:12: warning: data.redis.image: is not used with external: the managed database is not run by the stack\n    hint: remove data.redis.image',
    ]);
  });
  it('a task that runs in an external postgres needs its image', () => {
    const task = '  maintenance:\n    vacuum: { service: postgres, argv: [vacuumdb, --all] }';
    expect(problemsOf(spec(`    postgres: { ${PG}, external: { host: db.example.com } }`, task))).toEqual([
      'spec.yaml:7:13: error: maintenance.vacuum.service: runs in data.postgres, which is external and has no image to run the task in\n    hint: add data.postgres.image (its client tools run the task), or run the task in an app service',
    ]);
    expect(problemsOf(spec(`    postgres: { image: "postgres:16", ${PG}, external: { host: db.example.com } }`, task))).toEqual([]);
  });
});

describe('hostile hosts', () => {
  const problem = (host: string) => problemsOf(spec(`    redis:\n      external: { host: ${JSON.stringify(host)} }`));
  it.each([
    ['db.example.com', 'FQDN'],
    ['postgres.other-ns.svc.cluster.local.', 'FQDN'],
    ['x--y.a1.example', 'FQDN'],
    ['10.0.3.7', 'IPv4'],
    ['2001:db8::5', 'IPv6'],
    ['::ffff:10.1.2.3', 'IPv6'],
  ])('accepts %s (%s)', (host, kind) => {
    expect(externalHostProblem(host)).toBeUndefined();
    expect(hostKind(host)).toBe(kind);
    expect(problem(host)).toEqual([]);
  });

  it.each([
    ['Db.Example.com', 'has upper-case letters: write the DNS name in lower case (Kubernetes takes only lower case in externalName)'],
    ['db', 'is a single label: write the fully qualified name (a CNAME target is not completed with the pod\'s search domains)'],
    ['db..example.com', 'has an empty label (".." or a leading dot)'],
    ['.example.com', 'has an empty label (".." or a leading dot)'],
    ['-db.example.com', 'has the label "-db": a DNS label is 1-63 lower-case letters, digits and "-", not starting or ending with "-"'],
    ['db_1.example.com', 'has the label "db_1": a DNS label is 1-63 lower-case letters, digits and "-", not starting or ending with "-"'],
    ['db.example.com;rm -rf /', 'has the label "com;rm -rf /": a DNS label is 1-63 lower-case letters, digits and "-", not starting or ending with "-"'],
    ['$(reboot).example.com', 'has the label "$(reboot)": a DNS label is 1-63 lower-case letters, digits and "-", not starting or ending with "-"'],
    ['db.example.com\n- evil', 'has the label "com\\n- evil": a DNS label is 1-63 lower-case letters, digits and "-", not starting or ending with "-"'],
    [`${'a'.repeat(64)}.example.com`, `has the label "${'a'.repeat(63)}...": a DNS label is 1-63 lower-case letters, digits and "-", not starting or ending with "-"`],
    [Array(51).fill('abcd').join('.'), 'is 254 characters long: a DNS name has at most 253'],
    ['1.2.3.04', 'is neither an IP address nor a DNS name (a top-level domain is never all digits)'],
    ['10.0.0.256', 'is neither an IP address nor a DNS name (a top-level domain is never all digits)'],
    ['127.0.0.1', 'is a loopback address: in a pod it is the pod itself'],
    ['0.0.0.0', 'is in 0.0.0.0/8 ("this network"), not a host a pod can connect to'],
    ['169.254.169.254', 'is link-local (169.254.0.0/16): Kubernetes refuses it as an endpoint'],
    ['224.0.0.1', 'is a multicast or reserved address, not a host'],
    ['::', 'is the unspecified address (::), not a host'],
    ['::1', 'is the loopback address (::1): in a pod it is the pod itself'],
    ['fe80::1', 'is link-local (fe80::/10): Kubernetes refuses it as an endpoint'],
    ['ff02::1', 'is a multicast address (ff00::/8), not a host'],
    ['::ffff:127.0.0.1', 'is a loopback address: in a pod it is the pod itself'],
    ['fe80::1%eth0', 'is not an IPv6 address (and a DNS name has no ":"); write it without brackets, a port or a zone (%eth0)'],
    ['[2001:db8::5]', 'is not an IPv6 address (and a DNS name has no ":"); write it without brackets, a port or a zone (%eth0)'],
    ['db.example.com:5432', 'is not an IPv6 address (and a DNS name has no ":"); write it without brackets, a port or a zone (%eth0)'],
  ])('refuses %j', (host, why) => {
    expect(externalHostProblem(host)).toBe(why);
    const shown = JSON.stringify(host.length > 80 ? `${host.slice(0, 80)}...` : host);
    expect(problem(host)).toEqual([`spec.yaml:4:17: error: data.redis.external.host: ${shown} ${why}\n${HINT}`]);
  });

  it('bounds the length in the schema', () => {
    expect(problem(`${'a'.repeat(300)}.com`)).toEqual([
      expect.stringMatching(/^spec.yaml:4:17: error: data.redis.external.host: must NOT have more than 254 characters/) as unknown as string,
    ]);
  });
});
