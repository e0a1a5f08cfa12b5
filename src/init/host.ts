// `init --host`: a DNS name or IPv4 address, optionally with a port 1-65535.

/** Why `host` is not a usable `host[:port]`, or undefined when it is. */
export function hostProblem(host: string): string | undefined {
  const m = /^([A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)(?::(\d+))?$/.exec(host);
  if (!m) return 'give a DNS name or IP, optionally with a port, e.g. --host phase.example.com or --host 10.0.0.5:8443';
  if (m[1]!.split('.').some((label) => !label || label.length > 63 || label.startsWith('-') || label.endsWith('-'))) {
    return 'each dot-separated part of a host name is 1-63 letters, digits or -, not starting or ending with -';
  }
  if (m[2] !== undefined && !(Number(m[2]) >= 1 && Number(m[2]) <= 65535)) return `port ${m[2]} is out of range: use 1-65535`;
  return undefined;
}
