// Command-line words after `exec <task>` → task parameter values. Pure; values stay strings, verbatim.
// Hand-written, not node:util parseArgs: Node 20's parseArgs has no --no-<flag> (allowNegative is 22.4+),
// no `_`/`-` equivalence in names, and no filling of required parameters from positional words.
import type { NormalisedTask } from '../spec/normalise.js';
import { PhaseComposeError } from '../util/errors.js';
import type { ParamValues } from '../model/task.js';

const usage = (msg: string, task: string, spec: NormalisedTask) =>
  new PhaseComposeError('usage', `${task}: ${msg}`, { details: [`parameters: ${describeParams(spec) || '(none)'}`] });

/** `--org <string> (required), --dry-run` style summary of a task's parameters. */
export function describeParams(task: NormalisedTask): string {
  return Object.entries(task.params)
    .map(([n, p]) => `--${n.replace(/_/g, '-')}${p.type === 'boolean' ? '' : ` <${p.type}>`}${p.required ? ' (required)' : ''}`)
    .join(', ');
}

/**
 * Parses `--name value`, `--name=value`, `--flag`, `--no-flag` (names with - or _), and positional words
 * filling the task's required non-boolean parameters in order. Anything after `--` is positional.
 */
export function parseTaskArgs(task: NormalisedTask, taskName: string, words: readonly string[]): ParamValues {
  const params = task.params;
  const byFlag = new Map(Object.keys(params).map((n) => [n.replace(/_/g, '-'), n]));
  const positional = Object.entries(params).filter(([, p]) => p.required && p.type !== 'boolean').map(([n]) => n);
  const out: ParamValues = Object.create(null) as ParamValues;
  const set = (name: string, v: string | boolean) => {
    if (out[name] !== undefined) throw usage(`parameter "${name}" given twice`, taskName, task);
    out[name] = v;
  };
  let rest = false;
  const loose: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (!rest && w === '--') {
      rest = true;
      continue;
    }
    if (rest || !w.startsWith('--')) {
      loose.push(w);
      continue;
    }
    const eq = w.indexOf('=');
    let flag = (eq < 0 ? w.slice(2) : w.slice(2, eq)).replace(/_/g, '-');
    let negated = false;
    const plain = byFlag.get(flag.slice(3));
    if (!byFlag.has(flag) && flag.startsWith('no-') && plain !== undefined && params[plain]!.type === 'boolean') {
      flag = flag.slice(3);
      negated = true;
    }
    const name = byFlag.get(flag);
    if (!name) throw usage(`unknown option --${flag}`, taskName, task);
    if (params[name]!.type === 'boolean') {
      // --no-x=true would have set x (the negation dropped): a value goes with the plain form only.
      if (eq >= 0 && negated) throw usage(`--no-${flag} takes no value: write --${flag}=${w.slice(eq + 1)} or --no-${flag}`, taskName, task);
      if (eq >= 0) set(name, w.slice(eq + 1));
      else set(name, !negated);
    } else if (eq >= 0) set(name, w.slice(eq + 1));
    else {
      if (i + 1 >= words.length) throw usage(`option --${flag} needs a value`, taskName, task);
      set(name, words[++i]!);
    }
  }
  const free = positional.filter((n) => out[n] === undefined);
  if (loose.length > free.length) throw usage(`unexpected argument ${JSON.stringify(loose[free.length])}`, taskName, task);
  loose.forEach((v, i) => set(free[i]!, v));
  return out;
}
