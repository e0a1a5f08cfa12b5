// Task parameters → argv: what the user gives reaches the app as given, or is refused before anything runs.
import { describe, expect, it } from 'vitest';
import { parseTaskArgs } from '../../../src/exec/task-args.js';
import { renderTaskArgv, resolveParams } from '../../../src/model/task.js';
import type { NormalisedTask } from '../../../src/spec/normalise.js';

const purge: NormalisedTask = {
  service: 'backend',
  argv: ['purge_app_logs', { if: 'retain', args: ['--retain', '{retain}'] }, '{org}'],
  params: { org: { type: 'string', required: true }, retain: { type: 'integer' }, delete: { type: 'boolean' } },
};
const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e as { kind: string; message: string; details: string[] };
  }
  throw new Error('not refused');
};

describe('resolveParams', () => {
  it('refuses a value for a parameter the task does not declare, instead of dropping it', () => {
    // Until 2026-11-29: `exec purge Acme --app-id X` against a task without app_id purged the whole organisation.
    const e = refusal(() => resolveParams(purge, { org: 'Acme', app_id: 'X', batch_size: 5, sleep_ms: undefined }, 'purge'));
    expect(e.kind).toBe('usage');
    expect(e.message).toBe("purge: the spec's task has no parameter for --app-id, --batch-size, so it cannot take them");
    expect(e.details[0]).toBe('its parameters: --org, --retain, --delete');
  });

  it('refuses an empty value (an unset shell variable), which the app may read as "all"', () => {
    const e = refusal(() => resolveParams(purge, { org: '' }, 'purge'));
    expect([e.kind, e.message]).toEqual(['usage', 'purge: parameter "org" is empty']);
  });

  it('passes a whole number on with the digits given', () => {
    // Number() made 9007199254740993 into ...992 and 24 digits into 1.2345678901234568e+23.
    expect(resolveParams(purge, { org: 'a', retain: '9007199254740993' })).toEqual({ org: 'a', retain: '9007199254740993' });
    expect(renderTaskArgv(purge, resolveParams(purge, { org: 'a', retain: '123456789012345678901234' }))).toEqual(['purge_app_logs', '--retain', '123456789012345678901234', 'a']);
    expect(resolveParams(purge, { org: 'a', retain: 90 })).toEqual({ org: 'a', retain: 90 });
  });

  it('takes no parameter from the prototype', () => {
    const t: NormalisedTask = { service: 'b', argv: ['x', '{constructor}'], params: { constructor: { type: 'string' as const } } };
    expect(refusal(() => renderTaskArgv(t, resolveParams(t, {}))).message).toBe('parameter "constructor" has no value');
  });
});

describe('renderTaskArgv', () => {
  it('refuses a string value starting with "-" as a word of its own, unless "--" came before it', () => {
    // An organisation named -h printed purge_app_logs' help, and the run "succeeded".
    for (const org of ['-h', '--settings=evil']) {
      const e = refusal(() => renderTaskArgv(purge, resolveParams(purge, { org })));
      expect(e.message).toBe(`parameter "org" is ${JSON.stringify(org)}: it starts with "-", so the task's command would read it as an option`);
    }
    const safe: NormalisedTask = { ...purge, argv: ['purge_app_logs', { if: 'retain', args: ['--retain', '{retain}'] }, '--', '{org}'] };
    expect(renderTaskArgv(safe, resolveParams(safe, { org: '-h', retain: '-1' }))).toEqual(['purge_app_logs', '--retain', '-1', '--', '-h']);
    const joined: NormalisedTask = { ...purge, argv: ['disable_org_sso', '--org={org}'] };
    expect(renderTaskArgv(joined, resolveParams(joined, { org: '-h' }))).toEqual(['disable_org_sso', '--org=-h']);
  });
});

describe('parseTaskArgs', () => {
  it('refuses --no-flag=value, which set the flag (the negation dropped)', () => {
    const e = refusal(() => parseTaskArgs(purge, 'purge', ['Acme', '--no-delete=true']));
    expect(e.message).toBe('purge: --no-delete takes no value: write --delete=true or --no-delete');
    expect(parseTaskArgs(purge, 'purge', ['Acme', '--no-delete'])).toEqual({ org: 'Acme', delete: false });
  });

  it('knows no option named like a prototype key', () => {
    expect(refusal(() => parseTaskArgs(purge, 'purge', ['Acme', '--constructor', 'x'])).message).toBe('purge: unknown option --constructor');
  });
});
