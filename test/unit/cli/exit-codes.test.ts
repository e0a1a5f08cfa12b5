// The exit codes: one map (src/cli/exit-codes.ts), the --help table and README.md generated from it,
// and nothing but cli/main.ts choosing a code.
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES, exitCodeOf, helpTable, readmeTable } from '../../../src/cli/exit-codes.js';
import { reportError } from '../../../src/cli/main.js';
import { OK, childExit, reported } from '../../../src/cli/outcome.js';
import { PhaseComposeError, SpecError, type ErrorKind } from '../../../src/util/errors.js';

const root = join(import.meta.dirname, '../../..');
const kinds = Object.keys(EXIT_CODES) as ErrorKind[];

describe('the map from kind to exit code', () => {
  it('gives every kind its own code, all in the documented set', () => {
    const codes = kinds.map((k) => EXIT_CODES[k].code);
    expect(new Set(codes).size).toBe(codes.length);
    expect(Object.fromEntries(kinds.map((k) => [k, EXIT_CODES[k].code]))).toEqual({
      problem: 1, usage: 2, docker: 3, failed: 4, timeout: 5, locked: 6, 'not-found': 7, interrupted: 130,
    });
  });

  it('maps outcomes: ok is 0, a reported failure its kind\'s code, a child\'s own code passes through', () => {
    expect(exitCodeOf(OK)).toBe(0);
    for (const k of kinds) expect(exitCodeOf(reported(k))).toBe(EXIT_CODES[k].code);
    expect(exitCodeOf(childExit(42))).toBe(42);
    expect(exitCodeOf(childExit(0))).toBe(0);
  });

  it('reportError prints an error and leaves with its kind\'s code; anything else is 1', () => {
    for (const k of kinds) {
      const err: string[] = [];
      const code = reportError(new PhaseComposeError(k, 'it broke', { details: ['why'] }), { out: () => {}, err: (l) => err.push(l), isTTY: false });
      expect(code).toBe(EXIT_CODES[k].code);
      expect(err).toEqual(['phase-compose: it broke', '  why']);
    }
    const err: string[] = [];
    expect(reportError(new SpecError([{ severity: 'error', path: 'a', message: 'bad' }]), { out: () => {}, err: (l) => err.push(l), isTTY: false })).toBe(1);
    expect(err).toEqual(['error: a: bad', '\n1 error; nothing was written.']);
    expect(reportError(new RangeError('x'), { out: () => {}, err: () => {}, isTTY: false })).toBe(1);
    // A full disk nobody reported more precisely is named as such, not as a bug.
    const full: string[] = [];
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', path: '/srv/x' });
    expect(reportError(enospc, { out: () => {}, err: (l) => full.push(l), isTTY: false })).toBe(1);
    expect(full).toEqual(['phase-compose: could not write /srv/x: the disk is full', '  the command stopped there; make room (or make it writable) and run it again']);
  });

  it('a request the Docker Engine refused (docker-modem\'s error) is exit 4, in its words, not a bug', () => {
    // Before, "unexpected error ... this is a bug", exit 1: an exec into a container paused meanwhile, say.
    const e = Object.assign(new Error('(HTTP code 409) unexpected - Container 3f2a is paused, unpause the container before exec '), { statusCode: 409, reason: 'unexpected', json: { message: 'Container 3f2a is paused, unpause the container before exec' } });
    const err: string[] = [];
    expect(reportError(e, { out: () => {}, err: (l) => err.push(l), isTTY: false })).toBe(4);
    expect(err).toEqual(['phase-compose: the Docker Engine refused a request: Container 3f2a is paused, unpause the container before exec (HTTP 409)', '  the command stopped there; see `phase-compose status`, then run it again']);
    const gone = Object.assign(new Error('(HTTP code 409) container stopped/paused - Container 3f2a is not running '), { statusCode: 409 });
    const said: string[] = [];
    expect(reportError(gone, { out: () => {}, err: (l) => said.push(l), isTTY: false })).toBe(4);
    expect(said[0]).toBe('phase-compose: the Docker Engine refused a request: Container 3f2a is not running (HTTP 409)');
    // A statusCode alone (another library's error) is not taken for the Engine's.
    expect(reportError(Object.assign(new Error('boom'), { statusCode: 500 }), { out: () => {}, err: () => {}, isTTY: false })).toBe(1);
  });
});

describe('the tables generated from it', () => {
  it('--help ends with this table (the text users have always seen)', () => {
    expect(helpTable()).toBe(`Exit codes:
  0    success
  1    a problem was found (invalid spec, out-of-date file, refused overwrite, a file that cannot be written, an unforeseen error)
  2    usage error (unknown option, a missing or bad option value, missing file)
  3    Docker or Compose cannot be reached
  4    a service or job failed (a migration exited non-zero, a service turned unhealthy)
  5    timed out waiting
  6    another phase-compose run holds the project's lock
  7    not found: the organisation or app named does not exist
  (exec <task>, exec run and exec shell leave with the task's or shell's own exit code; 128 + n when signal n killed it)
  130  interrupted (Ctrl-C, or SIGTERM or SIGHUP during up, migrate, upgrade, rollback, backup, restore or exec)`);
  });

  it('README.md\'s "Exit codes" section is exactly the generated table', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const section = /\n### Exit codes\n\n([\s\S]*?)\n+#/.exec(readme)?.[1];
    expect(section).toBe(readmeTable());
  });
});

describe('only cli/main.ts picks an exit code', () => {
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
  const sources = files(join(root, 'src')).map((f) => ({ path: relative(root, f).split('\\').join('/'), text: readFileSync(f, 'utf8') }));

  it('the map is imported by main.ts alone', () => {
    expect(sources.filter((s) => /from '\.\/exit-codes\.js'|exit-codes\.js'/.test(s.text)).map((s) => s.path)).toEqual(['src/cli/main.ts']);
  });

  it('no other module sets process.exitCode or calls process.exit', () => {
    // model/healthcheck.ts writes a node one-liner for the container, not code that runs here.
    const setters = sources.filter((s) => /process\.exit(Code)?\b/.test(s.text.replace(/'[^'\n]*process\.exit[^'\n]*'/g, ''))).map((s) => s.path);
    expect(setters).toEqual(['src/cli/main.ts']);
  });
});

describe('exec shell ended by a signal', () => {
  it('leaves with 128 + the signal number, as a shell reports it (a bare 128 until 2026-11-28)', async () => {
    const { shellSignalExit } = await import('../../../src/cli/commands/exec.js');
    expect(shellSignalExit('SIGKILL')).toBe(137);
    expect(shellSignalExit('SIGTERM')).toBe(143);
    expect(shellSignalExit(null)).toBe(1);
  });
});
