// init's client-IP flags (issue #11, items 1 and 3): every --trusted range reaches nginx; bad values are
// usage errors (exit 2) before anything is written.
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { clientIpChoice, runInit, type InitArgs } from '../../../src/cli/commands/init.js';
import { PhaseComposeError } from '../../../src/util/errors.js';

const io = { out: () => {}, err: () => {}, isTTY: false };
const fresh = () => mkdtempSync(join(tmpdir(), 'pc-init-ip-'));
const base = { template: 'phase', yes: true, tls: 'none' as const, composeVersion: '1.29.2', engineVersion: '20.10.24' };
const usageError = async (args: Partial<InitArgs>) => {
  const dir = fresh();
  const e = await runInit({ ...base, dir, ...args }, io).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(PhaseComposeError);
  expect((e as PhaseComposeError).kind).toBe('usage');
  expect(readdirSync(dir)).toEqual([]);
  return (e as PhaseComposeError).message;
};

describe('init --client-ip and --trusted', () => {
  it('cloudflare with --trusted: every range becomes set_real_ip_from, and the spec keeps them', async () => {
    const dir = fresh();
    expect(await runInit({ ...base, dir, clientIp: 'cloudflare', trusted: ['173.245.48.0/20', '2400:cb00::/32'] }, io)).toEqual({ status: 'ok' });
    const conf = readFileSync(join(dir, 'nginx/default.conf'), 'utf8');
    expect(conf.match(/^set_real_ip_from .*;$/gm)).toEqual(['set_real_ip_from 173.245.48.0/20;', 'set_real_ip_from 2400:cb00::/32;']);
    expect(conf).toContain('real_ip_header CF-Connecting-IP;');
    expect(conf).not.toContain('$http_cf_connecting_ip');
    const spec = parse(readFileSync(join(dir, 'phase-compose.yaml'), 'utf8')) as { proxy: { client_ip: unknown } };
    expect(spec.proxy.client_ip).toEqual({ mode: 'cloudflare', trusted: ['173.245.48.0/20', '2400:cb00::/32'] });
  });

  it('cloudflare without --trusted: written, with a warning that the header can be forged', async () => {
    const dir = fresh();
    const err: string[] = [];
    expect(await runInit({ ...base, dir, clientIp: 'cloudflare' }, { ...io, err: (l: string) => err.push(l) })).toEqual({ status: 'ok' });
    expect(err.join('\n')).toMatch(/^phase-compose\.yaml:\d+:\d+: warning: proxy\.client_ip: cloudflare mode without trusted ranges/m);
  });

  it('header mode writes the header and ranges', async () => {
    const dir = fresh();
    expect(await runInit({ ...base, dir, clientIp: 'header', proxyHeader: 'X-Real-IP', trusted: ['10.0.0.0/8'] }, io)).toEqual({ status: 'ok' });
    const conf = readFileSync(join(dir, 'nginx/default.conf'), 'utf8');
    expect(conf).toContain('set_real_ip_from 10.0.0.0/8;\nreal_ip_header X-Real-IP;');
  });

  it('--trusted without a mode that uses it is a usage error', async () => {
    expect(await usageError({ trusted: ['10.0.0.0/8'] })).toMatch(/^--trusted needs --client-ip cloudflare or --client-ip header/);
    expect(await usageError({ clientIp: 'direct', trusted: ['10.0.0.0/8'] })).toMatch(/^--trusted needs/);
  });

  it.each([
    ['10.0.0.0/8; include /etc/shadow', 'cloudflare'],
    ['10.0.0.0/33', 'header'],
    ['example.com', 'cloudflare'],
  ] as const)('--trusted %j (%s) is a usage error; nothing is written', async (range, clientIp) => {
    expect(await usageError({ clientIp, trusted: ['10.0.0.0/8', range] })).toBe(`--trusted ${JSON.stringify(range)} is not a CIDR range`);
  });

  it('--proxy-header that is not a header name, or without header mode, is a usage error', async () => {
    expect(await usageError({ clientIp: 'header', proxyHeader: 'X-F, mode: direct }', trusted: ['10.0.0.0/8'] })).toMatch(/is not an HTTP header name$/);
    expect(await usageError({ clientIp: 'header', proxyHeader: 'X-F;\ninclude /etc/shadow', trusted: ['10.0.0.0/8'] })).toMatch(/is not an HTTP header name$/);
    expect(await usageError({ clientIp: 'cloudflare', proxyHeader: 'X-Real-IP' })).toBe('--proxy-header needs --client-ip header');
  });

  it('clientIpChoice: the choices that are allowed', () => {
    expect(clientIpChoice('direct', undefined, undefined)).toEqual({ mode: 'direct' });
    expect(clientIpChoice('cloudflare', undefined, [])).toEqual({ mode: 'cloudflare' });
    expect(clientIpChoice('header', undefined, ['::1'])).toEqual({ mode: 'header', header: 'X-Forwarded-For', trusted: ['::1'] });
    expect(() => clientIpChoice('header', undefined, [])).toThrow(/needs --trusted/);
    expect(() => clientIpChoice('bogus', undefined, [])).toThrow(/is not one of/);
  });
});

describe('init: other flags written into the spec', () => {
  it.each(['composeVersion', 'engineVersion'] as const)('%s that is not a version is a usage error (it would inject YAML)', async (flag) => {
    expect(await usageError({ [flag]: '1.29"\noutput: "/etc/cron.d/x' })).toBe(`--${flag === 'composeVersion' ? 'compose' : 'engine'}-version "1.29\\"\\noutput: \\"/etc/cron.d/x" is not a version`);
  });
});
