import { describe, expect, it } from 'vitest';
import { parseTaskArgs } from '../../../src/exec/task-args.js';
import type { NormalisedTask } from '../../../src/spec/normalise.js';

const task: NormalisedTask = {
  service: 'backend',
  argv: ['x'],
  params: {
    org: { type: 'string', required: true },
    retain: { type: 'integer' },
    app_id: { type: 'string' },
    show: { type: 'boolean' },
  },
};

describe('parseTaskArgs', () => {
  it.each<[string[], Record<string, unknown>]>([
    [['Acme'], { org: 'Acme' }],
    [[`Acme; rm -rf /`, '--retain', '007'], { org: 'Acme; rm -rf /', retain: '007' }],
    [['--org', `O'Brien "Labs"`, '--app-id=a=b', '--show'], { org: `O'Brien "Labs"`, app_id: 'a=b', show: true }],
    [['--org=x', '--app_id', 'y', '--no-show'], { org: 'x', app_id: 'y', show: false }],
    [['--', '--looks-like-a-flag'], { org: '--looks-like-a-flag' }],
    [['--show=false', 'x'], { org: 'x', show: 'false' }],
  ])('%j', (words, want) => {
    expect(parseTaskArgs(task, 'purge', words)).toEqual(want);
  });

  it.each<[string[], string]>([
    [['--bogus'], 'purge: unknown option --bogus'],
    [['--retain'], 'purge: option --retain needs a value'],
    [['a', 'b'], 'purge: unexpected argument "b"'],
    [["a", "--org", "b"], "purge: unexpected argument \"a\""],
    [["--org", "a", "--org", "b"], "purge: parameter \"org\" given twice"],
  ])('rejects %j', (words, message) => {
    expect(() => parseTaskArgs(task, 'purge', words)).toThrow(message);
  });
});
