#!/usr/bin/env node
// Benchmark: wall time of `phase-compose validate` on generated hostile specs: tiny ones that used to
// expand port ranges, ones just under the 64 KiB cap that stress every check that grows with input,
// and 1 MB ones (refused by the cap). Target: < 1 s each.
// Usage: node bench/validate.mjs   (after `node scripts/build.mjs`)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/cli.js');
const dir = mkdtempSync(join(tmpdir(), 'pc-bench-validate-'));
const MB = 1 << 20;

const head = 'name: bench\nservices:\n';
/** Repeats `unit(i)` until the text reaches `size` bytes. */
const fill = (prefix, unit, size = MB) => {
  const parts = [prefix];
  let n = prefix.length;
  for (let i = 0; n < size; i++) {
    const s = unit(i);
    parts.push(s);
    n += s.length;
  }
  return parts.join('');
};

const cases = [
  ['port range 1-4000000000:80', `${head}  web:\n    image: app\n    ports: ["1-4000000000:80"]\n`],
  ['port range 49152-65535/udp', `${head}  web:\n    image: app\n    ports: ["49152-65535:49152-65535/udp"]\n`],
  ...[64 * 1024 - 64, MB].flatMap((size) => {
    const label = size === MB ? '1 MB' : '64 KiB';
    return [
      [`${label}: services with env and ports`, fill(head, (i) => `  s${i}:\n    image: app:${i}\n    environment: { A_${i}: "${i}", B: x }\n    ports: ["${1 + (i % 60000)}:80"]\n`, size)],
      [`${label}: overlapping port ranges`, fill(`${head}  web:\n    image: app\n    ports:\n`, (i) => `      - "${1 + (i % 1000)}-65535:80"\n`, size)],
      [`${label}: dependency chain`, fill(head, (i) => `  s${i}:\n    image: app\n    depends_on: [s${i + 1}]\n`, size)],
      [`${label}: unknown references`, fill(head, (i) => `  s${i}:\n    image: app\n    depends_on: [x${i}yz]\n`, size)],
      [`${label}: jobs nothing waits for`, fill(head, (i) => `  j${i}:\n    image: app\n    role: job\n`, size)],
      [`${label}: one long string`, `${head}  web:\n    image: "${'a'.repeat(size - 64)}"\n`],
      [`${label}: \${} references`, fill(`${head}  web:\n    image: app\n    environment:\n`, (i) => `      V${i}: "\${A${i}:-\${B}} $$ \${C:?e}"\n`, size)],
    ];
  }),
  // Three levels of maps of aliases, 100 wide (3.8 KiB): the env walk followed each alias with yaml's
  // resolve(), a scan of the document (3.7 s on 2026-11-29 before 1 pass built an alias table).
  ['aliases 100 wide, 3 levels', (() => {
    const row = (l, v) => `x-${l}: &a${l} { ${Array.from({ length: 100 }, (_, i) => `k${i}: ${v}`).join(', ')} }\n`;
    return `name: bench\n${row(0, '1')}${row(1, '*a0')}${row(2, '*a1')}services: { ${Array.from({ length: 100 }, (_, i) => `s${i}: *a2`).join(', ')} }\n`;
  })()],
  ['deep nesting (flow)', `${head}  web:\n    image: app\n    labels: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`],
  ['deep nesting (block)', `${head}  web:\n    image: app\n    labels:\n${Array.from({ length: 300 }, (_, i) => `${' '.repeat(6 + 2 * i)}k${i}:\n`).join('')}`],
];

const rows = [];
for (const [name, text] of cases) {
  const file = join(dir, 'phase-compose.yaml');
  writeFileSync(file, text);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [cli, 'validate', '-f', file], { encoding: 'utf8', maxBuffer: 256 * MB, timeout: 120_000 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const first = `${r.stdout}${r.stderr}`.split('\n').find((l) => l.trim()) ?? '';
  rows.push([name, `${(text.length / 1024).toFixed(1)} KiB`, `${ms.toFixed(0)} ms`, String(r.status ?? r.signal), first.slice(0, 90)]);
}
rmSync(dir, { recursive: true, force: true });

const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length), ['spec', 'size', 'time', 'exit', 'first line of output'][i].length));
const line = (cols) => `| ${cols.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
console.log(line(['spec', 'size', 'time', 'exit', 'first line of output']));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const r of rows) console.log(line(r));
