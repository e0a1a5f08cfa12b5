// `init --host`: a DNS name or IPv4 address, optionally with a port 1-65535.

/** Why `host` is not a usable `host[:port]`, or undefined when it is. */
export function hostProblem(host: string): string | undefined {
  const m = /^([A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)(?::(\d+))?$/.exec(host);
  if (!m) return 'give a DNS name or IP, optionally with a port, e.g. --host phase.example.com or --host 10.0.0.5:8443';
  if (m[1]!.split('.').some((label) => !label || label.length > 63 || label.startsWith('-') || label.endsWith('-'))) {
    return 'each dot-separated part of a host name is 1-63 letters, digits or -, not starting or ending with -';
  }
  // A name whose last part is all digits is an IPv4 address or nothing (no top-level domain is numeric):
  // 999.999.999.999 passed and failed later in openssl (exit 1), or went into .env with --tls none.
  const labels = m[1]!.split('.');
  if (/^\d+$/.test(labels.at(-1)!) && !(labels.length === 4 && labels.every((l) => /^\d{1,3}$/.test(l) && Number(l) <= 255))) {
    return `${m[1]} is neither an IPv4 address (four numbers 0-255) nor a DNS name (whose last part is not all digits)`;
  }
  if (m[2] !== undefined && !(Number(m[2]) >= 1 && Number(m[2]) <= 65535)) return `port ${m[2]} is out of range: use 1-65535`;
  return undefined;
}
