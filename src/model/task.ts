// Maintenance task + parameter values → argv. Pure; values are inserted whole, never split or shell-parsed.
import type { NormalisedTask } from '../spec/normalise.js';
import { PhaseComposeError } from '../util/errors.js';

export type ParamValues = Record<string, string | number | boolean | undefined>;

const PLACEHOLDER = /\{([a-z][a-z0-9_]*)\}/g;

/** Applies defaults and checks types and required parameters; throws PhaseComposeError (usage) on a bad value. */
export function resolveParams(task: NormalisedTask, given: ParamValues, taskName = 'task'): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [name, p] of Object.entries(task.params)) {
    let v = given[name] ?? p.default;
    if (v === undefined) {
      if (p.required) throw new PhaseComposeError('usage', `${taskName}: missing required parameter "${name}"`);
      continue;
    }
    if (p.type === 'integer') {
      const n = typeof v === 'number' ? v : /^-?\d+$/.test(String(v)) ? Number(v) : NaN;
      if (!Number.isInteger(n)) throw new PhaseComposeError('usage', `${taskName}: parameter "${name}" must be a whole number, got ${JSON.stringify(v)}`);
      v = n;
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

/** Renders the argv template with resolved parameter values. */
export function renderTaskArgv(task: NormalisedTask, values: Record<string, string | number | boolean>): string[] {
  const sub = (s: string) =>
    s.replace(PLACEHOLDER, (_, name: string) => {
      const v = values[name];
      if (v === undefined) throw new PhaseComposeError('usage', `parameter "${name}" has no value`);
      return String(v);
    });
  const argv: string[] = [];
  for (const item of task.argv) {
    if (typeof item === 'string') argv.push(sub(item));
    else if (isSet(values[item.if])) argv.push(...item.args.map(sub));
  }
  return argv;
}
