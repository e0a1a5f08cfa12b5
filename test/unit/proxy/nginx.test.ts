// The nginx renderer and the checks on what may be written into its config (issue #11, items 1 and 3).
import { describe, expect, it } from 'vitest';
import schema from '../../../schema/phase-compose.schema.json' with { type: 'json' };
import { renderNginx } from '../../../src/proxy/nginx.js';
import { nginxHeaderWord } from '../../../src/proxy/values.js';
import { HEADER_NAME, ROUTE_PATH, isCidr } from '../../../src/spec/values.js';
import { normaliseSpec, type NormalisedProxy } from '../../../src/spec/normalise.js';
import type { ProxySpec } from '../../../src/spec/types.js';
import { problemsOf, proxySpecYaml, specOf } from '../helpers.js';

const spec = proxySpecYaml;
const proxy = (over: Partial<ProxySpec> = {}): NormalisedProxy => normaliseSpec({
  name: 'p', services: {}, proxy: { image: 'nginx:1', config: 'nginx/default.conf', routes: [{ path: '/', to: 'web:80' }], ...over },
}).proxy!;

describe('isCidr', () => {
  it.each(['10.0.0.0/8', '0.0.0.0/0', '192.0.2.1', '192.0.2.1/32', '2400:cb00::/32', '::/0', '::1', '::ffff:10.0.0.1/128'])('accepts %s', (c) => {
    expect(isCidr(c)).toBe(true);
  });
  it.each([
    '10.0.0.0/8; include /etc/shadow', '10.0.0.0/33', '10.0.0.0/', '10.0.0.0/08', '10.0.0.0/-1', '2400:cb00::/129', '256.0.0.0/8',
    '10.0.0/8', 'fe80::1%eth0', 'example.com', 'unix:', '', ' 10.0.0.0/8', '10.0.0.0/8\n', '10.0.0.0/8 10.0.0.0/8',
  ])('rejects %j', (c) => {
    expect(isCidr(c)).toBe(false);
  });
});

describe('the schema and the renderer agree', () => {
  const px = (schema as { definitions: { proxy: { properties: Record<string, any> } } }).definitions.proxy.properties;
  it('route path pattern', () => expect(new RegExp(px.routes.items.properties.path.pattern).source).toBe(ROUTE_PATH.source));
  it('header name pattern', () => expect(new RegExp(px.client_ip.oneOf[2].properties.header.pattern).source).toBe(HEADER_NAME.source));
});

describe('renderNginx', () => {
  it('cloudflare with trusted ranges: one set_real_ip_from per range, CF-Connecting-IP only from them', () => {
    const conf = renderNginx(proxy({ client_ip: { mode: 'cloudflare', trusted: ['173.245.48.0/20', '2400:cb00::/32'] } }), 'spec.yaml');
    expect(conf).toContain('set_real_ip_from 173.245.48.0/20;\nset_real_ip_from 2400:cb00::/32;\nreal_ip_header CF-Connecting-IP;\n');
    expect(conf).not.toContain('$http_cf_connecting_ip');
  });

  it('writes a header name bare, and refuses one nginx would drop (or read as more than one word)', () => {
    expect(nginxHeaderWord('X-Real-IP')).toBe('X-Real-IP');
    expect(() => nginxHeaderWord("X'#$y")).toThrow(/not an HTTP header name nginx passes on/);
    expect(() => nginxHeaderWord('X_Client')).toThrow(/not an HTTP header name nginx passes on/);
    const conf = renderNginx(proxy({ client_ip: { mode: 'header', header: 'X-Client-2', trusted: ['10.0.0.0/8'] } }), 'spec.yaml');
    expect(conf).toContain('real_ip_header X-Client-2;');
  });

  // Defence in depth: values that slipped past the spec checks are refused, never written.
  it.each([
    ['a trusted range', proxy({ client_ip: { mode: 'header', header: 'X-Forwarded-For', trusted: ['10.0.0.0/8; include /etc/shadow'] } })],
    ['a cloudflare range', proxy({ client_ip: { mode: 'cloudflare', trusted: ['0.0.0.0/0;\nserver { }'] } })],
    ['a header name', proxy({ client_ip: { mode: 'header', header: 'X-Forwarded-For;\ninclude /etc/shadow', trusted: ['10.0.0.0/8'] } })],
    ['a route path', proxy({ routes: [{ path: '/x { return 200; } location /y', to: 'web:80' }] })],
    ['a route path with a space', proxy({ routes: [{ path: '/a b', to: 'web:80' }] })],
    ['a route target', proxy({ routes: [{ path: '/', to: 'web;x:80' }] })],
  ])('throws on %s it cannot write safely', (_, p) => {
    expect(() => renderNginx(p, 'spec.yaml')).toThrow(/refusing to write/);
  });

  it('a spec with cloudflare mode and trusted ranges keeps them through the pipeline', () => {
    const conf = renderNginx(specOf(spec('{ mode: cloudflare, trusted: ["173.245.48.0/20", "2400:cb00::/32"] }')).proxy!, 'spec.yaml');
    expect(conf.match(/^set_real_ip_from .*;$/gm)).toEqual(['set_real_ip_from 173.245.48.0/20;', 'set_real_ip_from 2400:cb00::/32;']);
  });
});

describe('spec checks on values written into the nginx config: located errors with a hint', () => {
  it('a trusted range that is not a CIDR', () => {
    expect(problemsOf(spec('{ mode: header, header: X-Forwarded-For, trusted: ["10.0.0.0/8", "10.0.0.0/8; include /etc/shadow"] }'))).toEqual([
      'spec.yaml:7:79: error: proxy.client_ip.trusted[1]: "10.0.0.0/8; include /etc/shadow" is not a CIDR range\n    hint: give an IPv4 or IPv6 range such as 10.0.0.0/8 or 2400:cb00::/32 (prefix 0-32 for IPv4, 0-128 for IPv6)',
    ]);
  });

  it('a cloudflare range with an out-of-bounds prefix', () => {
    expect(problemsOf(spec('{ mode: cloudflare, trusted: ["2400:cb00::/129"] }'))).toEqual([
      expect.stringMatching(/^spec\.yaml:7:\d+: error: proxy\.client_ip\.trusted\[0\]: "2400:cb00::\/129" is not a CIDR range\n    hint: /),
    ]);
  });

  it('a route path with nginx syntax in it', () => {
    const problems = problemsOf(spec('{ mode: direct }', '"/x; include /etc/shadow"'));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^spec\.yaml:9:\d+: error: proxy\.routes\[0\]\.path: .* is not a valid value here\n    hint: URL path the route matches/);
  });

  it.each(['"/a b"', '"/a{"', '"/a#b"', '"/a\\"b"', "\"/a'b\"", '"/a$b"', '"/a\\tb"', '"/a%zz"', 'a'])('route path %s is refused', (p) => {
    expect(problemsOf(spec('{ mode: direct }', p))).toEqual([expect.stringContaining('error: proxy.routes[0].path:')]);
  });

  it('cloudflare mode without trusted ranges is a warning (the header can be forged); with them, none', () => {
    expect(problemsOf(spec('{ mode: cloudflare }'))).toEqual([
      "spec.yaml:7:3: warning: proxy.client_ip: cloudflare mode without trusted ranges: nginx takes CF-Connecting-IP from anyone who reaches it, so clients can forge their IP\n    hint: list Cloudflare's ranges (https://www.cloudflare.com/ips/) in trusted, or accept connections from Cloudflare alone",
    ]);
    expect(problemsOf(spec('{ mode: cloudflare, trusted: ["173.245.48.0/20"] }'))).toEqual([]);
  });

  it('a header name that is not a token', () => {
    const problems = problemsOf(spec('{ mode: header, header: "X-Forwarded-For; include x", trusted: ["10.0.0.0/8"] }'));
    expect(problems).toEqual([
      'spec.yaml:7:30: error: proxy.client_ip.header: the string "X-Forwarded-For; include x" is not a valid value here\n    hint: HTTP header carrying the client IP, e.g. X-Forwarded-For: letters, digits and `-` only (nginx drops request headers with any other character, `_` included).',
    ]);
  });

  it.each(['X_Real_IP', 'X.Client-IP', "X-Client'IP"])('a header name nginx drops (%s) is refused: the client IP would never be read', (h) => {
    // nginx's ignore_invalid_headers drops request headers with "_", "." and the like: before, such a
    // header passed, and every request got the proxy's peer address as its client IP.
    expect(problemsOf(spec(`{ mode: header, header: "${h}", trusted: ["10.0.0.0/8"] }`))).toEqual([
      expect.stringMatching(new RegExp(`error: proxy\\.client_ip\\.header: the string .* is not a valid value here\\n    hint: .*nginx drops request headers with any other character`)),
    ]);
    expect(problemsOf(spec('{ mode: header, header: X-Client-IP-2, trusted: ["10.0.0.0/8"] }'))).toEqual([]);
  });
});
