// The target Compose's `${...}` interpolation rules: a value Compose would refuse ("Invalid
// interpolation format" in v1, "Invalid template" in v2) is found at validate time, not at deploy.
//
// Both read `$$` (a literal `$`), `$VAR`, `${VAR}`, and `${VAR<op>text}`; any other `$` is an error.
// v1 (docker-compose 1.29, Python) knows the operators `:-` `-` `:?` `?`, and its text runs to the
// first `}`. v2 (compose-go) also knows `:+` `+`, and the text may hold nested `${...}`.

const NAME = /[_A-Za-z][_A-Za-z0-9]*/y;
const V1_SYNTAX = '${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, $VAR and $$';

/**
 * Deepest nesting of `${...}` inside defaults that is checked (v2): each level is checked by a recursive
 * call on its text. Until 2026-11-28 there was no bound, and about 8000 levels (48 KB, under the spec's
 * size limit) overflowed the stack: every command that loads the spec crashed.
 */
export const MAX_INTERPOLATION_NESTING = 32;

/** Why Compose (v1 or v2) would refuse to interpolate `s`, or undefined when it reads it. */
export function interpolationProblem(s: string, v1: boolean, nesting = 0): string | undefined {
  if (nesting > MAX_INTERPOLATION_NESTING) return `\${...} nested more than ${MAX_INTERPOLATION_NESTING} deep in defaults: phase-compose checks no deeper`;
  for (let i = s.indexOf('$'); i >= 0; i = s.indexOf('$', i)) {
    const next = s[i + 1];
    if (next === '$') {
      i += 2;
      continue;
    }
    NAME.lastIndex = i + 1;
    if (NAME.test(s)) {
      i = NAME.lastIndex;
      continue;
    }
    if (next !== '{') return `"$" must start $VAR, \${VAR} or $$ (a literal $), not ${next === undefined ? 'end the value' : JSON.stringify(s.slice(i, i + 2))}`;
    NAME.lastIndex = i + 2;
    if (!NAME.test(s)) return s[i + 2] === '}' ? '"${}" names no variable' : `"\${" must be followed by a variable name, not ${JSON.stringify(s.slice(i, i + 3))}`;
    let j = NAME.lastIndex;
    if (s[j] === '}') {
      i = j + 1;
      continue;
    }
    const op = /:?[-?+]/y;
    op.lastIndex = j;
    const m = op.exec(s);
    if (!m) return s[j] === undefined ? `"${s.slice(i)}" is never closed with "}"` : `${JSON.stringify(s.slice(i, j + 1))}: a variable name ends with "}" or an operator (:- - :? ?)`;
    if (v1 && m[0].endsWith('+')) return `"\${${s.slice(i + 2, j)}${m[0]}...}" needs Compose v2; Compose 1.29 reads only ${V1_SYNTAX}`;
    j = op.lastIndex;
    // The text after the operator: to the first "}" (v1), or to the "}" that closes this one (v2).
    let depth = 1;
    let k = j;
    for (; k < s.length; k++) {
      if (s[k] === '}' && --depth === 0) break;
      if (!v1 && s[k] === '$' && s[k + 1] === '{') {
        depth++;
        k++;
      }
    }
    if (k >= s.length) return `"${s.slice(i)}" is never closed with "}"`;
    if (!v1) {
      const inner = interpolationProblem(s.slice(j, k), v1, nesting + 1);
      if (inner) return inner;
    }
    i = k + 1;
  }
  return undefined;
}

/** Sections of the spec whose strings phase-compose writes unescaped into the compose file. */
const INTERPOLATED = new Set(['env_file', 'data', 'services', 'migrations', 'proxy']);
/**
 * Below those, strings that go elsewhere (nginx) or are escaped on the way: shell probes, and the
 * proxy's config and TLS paths, which the generator writes with every `$` as `$$`.
 */
const PROXY_NOT_INTERPOLATED = new Set(['routes', 'client_ip', 'config', 'tls']);
const notInterpolated = (path: ReadonlyArray<string | number>, key: string) =>
  (path.length === 1 && path[0] === 'proxy' && PROXY_NOT_INTERPOLATED.has(key)) ||
  // data.<name>.external never reaches a compose file (a managed database is for Kubernetes only).
  (path.length === 2 && path[0] === 'data' && key === 'external') ||
  (path[path.length - 1] === 'healthcheck' && (key === 'http' || key === 'tcp'));

/** Every string of the spec that Compose will interpolate, with its key path. Iterative. */
export function interpolatedStrings(spec: Record<string, unknown>): Array<[Array<string | number>, string]> {
  const out: Array<[Array<string | number>, string]> = [];
  const stack: Array<[Array<string | number>, unknown]> = Object.entries(spec)
    .filter(([k]) => INTERPOLATED.has(k))
    .map(([k, v]) => [[k], v]);
  while (stack.length) {
    const [path, v] = stack.pop()!;
    if (typeof v === 'string') out.push([path, v]);
    else if (Array.isArray(v)) v.forEach((x, i) => stack.push([[...path, i], x]));
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) if (!notInterpolated(path, k)) stack.push([[...path, k], x]);
    }
  }
  return out;
}
