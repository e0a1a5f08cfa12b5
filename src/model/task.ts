// Maintenance task + parameter values → argv. Pure; values are inserted whole, never split or shell-parsed.
import type { NormalisedTask } from '../spec/normalise.js';
import { PhaseComposeError } from '../util/errors.js';

export type ParamValues = Record<string, string | number | boolean | undefined>;

const PLACEHOLDER = /\{([a-z][a-z0-9_]*)\}/g;

/**
 * Applies defaults and checks types and required parameters; throws PhaseComposeError (usage) on a bad
 * value. A value given for a parameter the task does not declare is refused (before 2026-11-29 it was
 * dropped: `exec purge Acme --app-id X` against a purge task without app_id purged the whole
 * organisation), and so is an empty string given for one (`--app-id "$UNSET"` did the same).
 */
export function resolveParams(task: NormalisedTask, given: ParamValues, taskName = 'task'): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  const undeclared = Object.keys(given).filter((k) => given[k] !== undefined && !Object.hasOwn(task.params, k));
  if (undeclared.length) {
    const flags = undeclared.map((k) => `--${k.replace(/_/g, '-')}`).join(', ');
    throw new PhaseComposeError('usage', `${taskName}: the spec's task has no parameter for ${flags}, so it cannot take ${undeclared.length === 1 ? 'it' : 'them'}`, {
      details: [`its parameters: ${Object.keys(task.params).map((n) => `--${n.replace(/_/g, '-')}`).join(', ') || '(none)'}`, 'declare the parameter under maintenance in the spec (and use it in argv), or leave the option out'],
    });
  }
  for (const [name, p] of Object.entries(task.params)) {
    const given_ = Object.hasOwn(given, name) ? given[name] : undefined;
    if (given_ === '') throw new PhaseComposeError('usage', `${taskName}: parameter "${name}" is empty`, { details: ['give it a value, or leave it out'] });
    let v = given_ ?? p.default;
    if (v === undefined) {
      if (p.required) throw new PhaseComposeError('usage', `${taskName}: missing required parameter "${name}"`);
      continue;
    }
    if (p.type === 'integer') {
      const n = typeof v === 'number' ? v : /^-?\d+$/.test(String(v)) ? Number(v) : NaN;
      if (!Number.isInteger(n)) throw new PhaseComposeError('usage', `${taskName}: parameter "${name}" must be a whole number, got ${JSON.stringify(v)}`);
      // v stays as given: the digits typed reach the app (Number() made 9007199254740993 ...992).
    } else if (p.type === 'boolean') {
      if (typeof v !== 'boolean') {
        if (v === 'true' || v === 'false') v = v === 'true';
        else throw new PhaseComposeError('usage', `${taskName}: parameter "${name}" must be true or false, got ${JSON.stringify(v)}`);
      }
    } else v = String(v);
    out[name] = v;
  }
  return out;
}

const isSet = (v: string | number | boolean | undefined) => v !== undefined && v !== false;

/**
 * Renders the argv template with resolved parameter values. A word that is one string parameter alone and
 * whose value starts with `-` is refused unless a `--` word came before it: the app's parser would read it
 * as an option (an organisation named `-h` printed purge_app_logs' help and "succeeded"; one named
 * `--settings=x` was taken by Django's own pre-parser).
 */
export function renderTaskArgv(task: NormalisedTask, values: Record<string, string | number | boolean>): string[] {
  const sub = (s: string) =>
    s.replace(PLACEHOLDER, (_, name: string) => {
      const v = Object.hasOwn(values, name) ? values[name] : undefined;
      if (v === undefined) throw new PhaseComposeError('usage', `parameter "${name}" has no value`);
      return String(v);
    });
  const argv: string[] = [];
  const word = (s: string) => {
    const whole = /^\{([a-z][a-z0-9_]*)\}$/.exec(s)?.[1];
    const v = whole !== undefined && Object.hasOwn(values, whole) ? values[whole] : undefined;
    if (typeof v === 'string' && v.startsWith('-') && task.params[whole!]?.type === 'string' && !argv.includes('--')) {
      throw new PhaseComposeError('usage', `parameter "${whole}" is ${JSON.stringify(v)}: it starts with "-", so the task's command would read it as an option`, {
        details: ['a value of its own cannot start with "-" here; a task whose argv puts "--" before the value takes it (or one written --name={value})'],
      });
    }
    argv.push(sub(s));
  };
  for (const item of task.argv) {
    if (typeof item === 'string') word(item);
    else if (isSet(Object.hasOwn(values, item.if) ? values[item.if] : undefined)) item.args.forEach(word);
  }
  return argv;
}
