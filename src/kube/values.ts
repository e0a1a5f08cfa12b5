// Compose-style `${VAR}` in spec strings → Kubernetes' own `$(VAR)` expansion. Pure.
//
// In Compose, `${VAR}` is filled from the env file when the stack starts. Kubernetes has no such step,
// but the kubelet expands `$(VAR)` in a container's command, args and env values from the variables
// defined before them: the generated containers take the env file from a Secret (envFrom), so
// `${DATABASE_PASSWORD}` becomes `$(DATABASE_PASSWORD)` and the value never enters a manifest.
// Defaults (`${VAR:-x}`, `${VAR-x}`) go into a ConfigMap listed before the Secret in envFrom: a key
// in the Secret wins, else the default applies. A literal `$` is written `$$` (Kubernetes' escape).
import { PhaseComposeError } from '../util/errors.js';

const NAME = /[_A-Za-z][_A-Za-z0-9]*/y;

export type Converted = {
  /** The value in Kubernetes' `$(VAR)` form. */
  value: string;
  /** Variables the value refers to. */
  vars: string[];
  /** Defaults written in the value (`${VAR:-x}` → VAR: x). */
  defaults: Record<string, string>;
  /** Variables the value requires (`${VAR:?msg}`, `${VAR?msg}`): Compose refuses to start without them. */
  required: string[];
};

/** A string of phase-compose's own (a script, a task argument): every `$` is literal. */
export const kubeEscape = (s: string): string => s.replace(/\$/g, '$$$$');

/**
 * Converts one spec string that Compose would interpolate. `where` names it in errors. The spec was
 * validated, so its syntax is well-formed; forms Kubernetes cannot express are refused.
 */
export function toKube(s: string, where: string): Converted {
  const vars: string[] = [];
  const defaults: Record<string, string> = {};
  const required: string[] = [];
  let out = '';
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    if (s[i + 1] === '$') {
      out += '$$';
      i += 2;
      continue;
    }
    NAME.lastIndex = i + 1;
    if (NAME.test(s)) {
      const name = s.slice(i + 1, NAME.lastIndex);
      out += `$(${name})`;
      vars.push(name);
      i = NAME.lastIndex;
      continue;
    }
    if (s[i + 1] !== '{') throw unsupported(where, s, 'a "$" that starts no variable');
    NAME.lastIndex = i + 2;
    if (!NAME.test(s)) throw unsupported(where, s, 'a "${" that names no variable');
    const name = s.slice(i + 2, NAME.lastIndex);
    let j = NAME.lastIndex;
    const close = s.indexOf('}', j);
    if (close < 0) throw unsupported(where, s, `"\${${name}" is never closed`);
    const op = /^:?[-?+]/.exec(s.slice(j, close));
    if (s[j] !== '}' && !op) throw unsupported(where, s, `"\${${name}${s[j]}"`);
    if (op) {
      j += op[0].length;
      const text = s.slice(j, close);
      if (op[0].endsWith('+')) throw unsupported(where, s, `"\${${name}${op[0]}...}" (Kubernetes has no "use this when set")`);
      if (text.includes('$')) throw unsupported(where, s, `a variable inside the default of \${${name}}`);
      if (op[0].endsWith('-')) {
        if (defaults[name] !== undefined && defaults[name] !== text) throw unsupported(where, s, `two defaults for ${name}`);
        defaults[name] = text;
      }
      if (op[0].endsWith('?')) required.push(name);
    }
    out += `$(${name})`;
    vars.push(name);
    i = close + 1;
  }
  return { value: out, vars, defaults, required };
}

function unsupported(where: string, s: string, what: string): PhaseComposeError {
  return new PhaseComposeError('usage', `${where}: ${JSON.stringify(s)} cannot be written for Kubernetes: ${what}`, {
    details: ['Kubernetes fills only $(VAR) from the container\'s own variables (the env Secret), plus defaults written ${VAR:-value}'],
  });
}

/**
 * An image reference: Kubernetes never expands variables in `image`, so each `${VAR:-default}` is
 * replaced by its default (a variable without one is refused).
 */
export function kubeImage(image: string, where: string): { image: string; replaced: string[] } {
  if (!image.includes('$')) return { image, replaced: [] };
  const c = toKube(image, where);
  const missing = c.vars.filter((v) => c.defaults[v] === undefined);
  if (missing.length) {
    throw new PhaseComposeError('usage', `${where}: the image ${JSON.stringify(image)} uses \${${missing[0]}} without a default; Kubernetes cannot fill an image from variables`, {
      details: [`write \${${missing[0]}:-<tag>} (the manifests use the default; to change it, change the spec and generate again) or a fixed tag`],
    });
  }
  const resolved = c.value.replace(/\$\(([_A-Za-z][_A-Za-z0-9]*)\)/g, (_, v: string) => c.defaults[v]!).replace(/\$\$/g, '$');
  return { image: resolved, replaced: [...new Set(c.vars)] };
}

/**
 * A string Kubernetes passes on without expanding anything (an exec probe's command, a workingDir):
 * Compose's escape `$$` becomes `$`; a variable is refused, since nothing would fill it. `what` names the
 * field. (Until 2026-11-28 these were copied as written: a probe got `$$` for a shell's `$$`, its PID.)
 */
export function kubeLiteral(s: string, where: string, what: string): string {
  if (!s.includes('$')) return s;
  const c = toKube(s, where);
  if (c.vars.length) {
    throw new PhaseComposeError('usage', `${where}: ${JSON.stringify(s)} cannot be written for Kubernetes: it uses \${${c.vars[0]}}, and Kubernetes expands no variable in ${what}`, {
      details: [`read it at run time instead: write $\${${c.vars[0]}} (a literal $) in a shell command, e.g. [sh, -c, "... $\${${c.vars[0]}}"]`],
    });
  }
  return c.value.replace(/\$\$/g, '$');
}
