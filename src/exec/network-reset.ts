// Phase's documented network-access-policy reset (a loop in `manage.py shell`), as a fixed program whose
// result line can be parsed. No user value is ever put into the code.

/** Sets is_global = False on every global NetworkAccessPolicy, saving each (signals run), and reports counts. */
export const RESET_NETWORK_POLICIES_PY = `from api.models import NetworkAccessPolicy
changed = 0
total = NetworkAccessPolicy.objects.count()
for p in NetworkAccessPolicy.objects.filter(is_global=True):
    p.is_global = False
    p.save()
    changed += 1
print("phase-compose-reset: changed=%d total=%d" % (changed, total))
`;

/** The manage.py argv that runs the reset. */
export const resetNetworkPoliciesArgv = (): string[] => ['python', 'manage.py', 'shell', '-c', RESET_NETWORK_POLICIES_PY];

/** Reads the result line; undefined when the program did not get that far. */
export function parseResetResult(output: string): { changed: number; total: number } | undefined {
  const m = /phase-compose-reset: changed=(\d+) total=(\d+)/.exec(output);
  return m ? { changed: Number(m[1]), total: Number(m[2]) } : undefined;
}
