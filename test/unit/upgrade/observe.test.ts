// `compose config` output → what each service wants: Compose v1 and v2 write environment and labels as
// a map, and a list of KEY=value is read the same way.
import { describe, expect, it } from 'vitest';
import { parseComposeConfig } from '../../../src/upgrade/observe.js';

describe('parseComposeConfig', () => {
  it('reads labels (map or list) beside image, environment and command', () => {
    const out = parseComposeConfig(`services:
  nginx:
    image: nginx:1
    environment: { A: "1", UNSET: null }
    labels: { dev.phase-compose.proxy-config-sha256: abc, dev.phase-compose.role: proxy }
    command: [nginx, -g, "daemon off;"]
  worker:
    image: app:1
    labels: ["x=1", "y=a=b"]
`);
    expect(out.nginx).toEqual({ image: 'nginx:1', environment: { A: '1' }, labels: { 'dev.phase-compose.proxy-config-sha256': 'abc', 'dev.phase-compose.role': 'proxy' }, command: ['nginx', '-g', 'daemon off;'] });
    expect(out.worker).toEqual({ image: 'app:1', environment: {}, labels: { x: '1', y: 'a=b' } });
  });
});
