// `$` in generated Compose files (issue #11, item 4): values that must reach the container verbatim are
// written `$$`; values in Compose's own terms stay as written, so Compose interpolates `${VAR}`.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderOutputs } from '../../../src/model/outputs.js';
import { renderTaskArgv } from '../../../src/model/task.js';
import type { ComposeFile } from '../../../src/model/compose.js';
import { specOf, y } from '../helpers.js';

const spec = specOf(y`
  name: demo
  services:
    backend:
      image: "app:\${TAG}"
      command: [serve, "--db", "\${DB_HOST}"]
      environment: { GREETING: "hi \${USER_NAME}", LITERAL: "a$$b" }
      volumes: ["\${DATA_DIR}:/data"]
  proxy:
    image: nginx:1
    config: "nginx/$site.conf"
    tls: { cert: "tls/$c.pem", key: "tls/$k.pem" }
    routes: [{ path: /, to: "backend:80" }]
  maintenance:
    purge:
      service: backend
      argv: [purge, "{org}", "--tag=$HOME", { if: retain, args: [--retain, "{retain}"] }]
      params: { org: { type: string, required: true }, retain: { type: integer } }
  retention: { task: purge, every: 24h, params: { org: "Price$mart", retain: 90 } }
`);
const text = renderOutputs(spec, 'phase-compose.yaml').files[0]!.content;
const compose = parse(text) as ComposeFile;

describe('$ in the generated compose file', () => {
  it('retention: the task argv is escaped, so the container gets Price$mart (not "Price" + $mart)', () => {
    expect(text).toContain('      - "Price$$mart"\n');
    expect(compose.services['purge-schedule']!.command).toEqual(['purge', 'Price$$mart', '--tag=$$HOME', '--retain', '90']);
    // Compose turns each $$ back into $: what runs is exactly what `phase-compose exec purge` runs.
    const interpolated = compose.services['purge-schedule']!.command!.map((a) => a.replace(/\$\$/g, '$'));
    expect(interpolated).toEqual(renderTaskArgv(spec.maintenance!.purge!, { org: 'Price$mart', retain: 90 }));
  });

  it('the proxy config and TLS files are mounted by the names generate writes', () => {
    expect(compose.services.nginx!.volumes).toEqual([
      './nginx/$$site.conf:/etc/nginx/conf.d/default.conf:ro',
      './tls/$$c.pem:/etc/nginx/tls/cert.pem:ro',
      './tls/$$k.pem:/etc/nginx/tls/key.pem:ro',
    ]);
  });

  it('values in Compose terms stay as written: ${VAR} is interpolated, $$ stays the user\'s escape', () => {
    const b = compose.services.backend!;
    expect(b.image).toBe('app:${TAG}');
    expect(b.command).toEqual(['serve', '--db', '${DB_HOST}']);
    expect(b.environment).toEqual({ GREETING: 'hi ${USER_NAME}', LITERAL: 'a$$b' });
    expect(b.volumes).toEqual(['${DATA_DIR}:/data']);
    // The retention service inherits the target service's Compose-terms values unescaped too.
    expect(compose.services['purge-schedule']!.image).toBe('app:${TAG}');
  });
});
