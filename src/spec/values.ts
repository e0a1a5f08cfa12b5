// The rules for values the spec may hold where they end up in the nginx config: CIDR ranges, URL
// paths and header names. Pure. The spec's semantic rules, `init`'s flags and the nginx renderer
// (defence in depth, through proxy/values.ts) all use these checks.
import { isIPv4, isIPv6 } from 'node:net';

/** An IPv4 or IPv6 address with an optional prefix length (`10.0.0.0/8`, `2400:cb00::/32`, `192.0.2.1`). */
export function isCidr(s: string): boolean {
  const slash = s.indexOf('/');
  const addr = slash < 0 ? s : s.slice(0, slash);
  const prefix = slash < 0 ? undefined : s.slice(slash + 1);
  // No zone index (`fe80::1%eth0`): nginx does not take one, and `%` has no place in its config.
  const max = isIPv4(addr) ? 32 : isIPv6(addr) && !addr.includes('%') ? 128 : 0;
  if (!max) return false;
  return prefix === undefined || (/^(0|[1-9][0-9]{0,2})$/.test(prefix) && Number(prefix) <= max);
}

/**
 * A URL path nginx can take as a `location` prefix: starts with `/`; RFC 3986 path characters and
 * `%XX` escapes only. No whitespace, control characters, quotes, `;`, `{`, `}`, `#`, `$` or `\`.
 * Kept equal to the route path pattern in schema/phase-compose.schema.json (a test checks it).
 */
export const ROUTE_PATH = /^\/(?:[A-Za-z0-9._~!&()*+,=:@/-]|%[0-9A-Fa-f]{2})*$/;

/**
 * An HTTP header name nginx passes on: letters, digits and "-". Its ignore_invalid_headers (on by
 * default) drops request headers with any other RFC 7230 token character, "_" and "." included, so
 * real_ip_header would never see one (until 2026-11-29 any token passed). Kept equal to the header
 * pattern in the schema (a test checks it).
 */
export const HEADER_NAME = /^[0-9A-Za-z-]+$/;

/** Healthcheck hosts that are the container itself (the Compose probe runs inside it; a kubelet probe of the pod's address checks the same). */
export const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export const CIDR_HINT = 'give an IPv4 or IPv6 range such as 10.0.0.0/8 or 2400:cb00::/32 (prefix 0-32 for IPv4, 0-128 for IPv6)';
export const HEADER_HINT = 'an HTTP header name such as X-Forwarded-For: letters, digits and "-" only (nginx drops request headers with any other character, "_" included)';

/** The address family of a valid `data.<name>.external.host`: an EndpointSlice's `addressType`, or `FQDN` for a DNS name. */
export type HostKind = 'IPv4' | 'IPv6' | 'FQDN';
export const hostKind = (host: string): HostKind => (isIPv4(host) ? 'IPv4' : isIPv6(host) ? 'IPv6' : 'FQDN');

/** A DNS label as Kubernetes takes it in `externalName` (RFC 1123, lower case), at most 63 characters. */
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** The 8 groups of an IPv6 address node's isIPv6 accepted (an embedded IPv4 tail becomes 2 groups). */
function ipv6Groups(s: string): number[] {
  let text = s;
  const tail = /:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const b = tail[1]!.split('.').map(Number);
    text = `${text.slice(0, tail.index)}:${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const part = (p: string) => (p ? p.split(':').map((g) => parseInt(g, 16)) : []);
  const h = part(head);
  const t = part(rest ?? '');
  return rest === undefined ? h : [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
}

/** Why an IPv4 address (as bytes) cannot be a database's address, or undefined. */
function ipv4Problem(b: number[]): string | undefined {
  if (b[0] === 0) return 'is in 0.0.0.0/8 ("this network"), not a host a pod can connect to';
  if (b[0] === 127) return 'is a loopback address: in a pod it is the pod itself';
  if (b[0] === 169 && b[1] === 254) return 'is link-local (169.254.0.0/16): Kubernetes refuses it as an endpoint';
  if (b[0]! >= 224) return 'is a multicast or reserved address, not a host';
  return undefined;
}

/**
 * Why `host` cannot be `data.<name>.external.host`, or undefined. It must be an IPv4 or IPv6 address a
 * pod can reach (Kubernetes refuses unspecified, loopback and link-local endpoints), or a lower-case,
 * fully qualified DNS name (an ExternalName Service's CNAME target is not completed with search domains)
 * of RFC 1123 labels, at most 253 characters, optionally with a trailing dot.
 */
export function externalHostProblem(host: string): string | undefined {
  if (isIPv4(host)) return ipv4Problem(host.split('.').map(Number));
  if (host.includes(':')) {
    if (!isIPv6(host) || host.includes('%')) return 'is not an IPv6 address (and a DNS name has no ":"); write it without brackets, a port or a zone (%eth0)';
    const g = ipv6Groups(host);
    if (g.every((x) => x === 0)) return 'is the unspecified address (::), not a host';
    if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return 'is the loopback address (::1): in a pod it is the pod itself';
    if ((g[0]! & 0xffc0) === 0xfe80) return 'is link-local (fe80::/10): Kubernetes refuses it as an endpoint';
    if ((g[0]! & 0xff00) === 0xff00) return 'is a multicast address (ff00::/8), not a host';
    if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return ipv4Problem([g[6]! >> 8, g[6]! & 255, g[7]! >> 8, g[7]! & 255]);
    return undefined;
  }
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name.length > 253) return `is ${name.length} characters long: a DNS name has at most 253`;
  if (/[A-Z]/.test(name) && /^[A-Za-z0-9.-]+$/.test(name)) return 'has upper-case letters: write the DNS name in lower case (Kubernetes takes only lower case in externalName)';
  const labels = name.split('.');
  const bad = labels.find((l) => !DNS_LABEL.test(l));
  if (bad !== undefined) {
    return bad === '' ? 'has an empty label (".." or a leading dot)' : `has the label ${JSON.stringify(bad.length > 63 ? `${bad.slice(0, 63)}...` : bad)}: a DNS label is 1-63 lower-case letters, digits and "-", not starting or ending with "-"`;
  }
  if (labels.length < 2) return 'is a single label: write the fully qualified name (a CNAME target is not completed with the pod\'s search domains)';
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) return 'is neither an IP address nor a DNS name (a top-level domain is never all digits)';
  return undefined;
}

export const EXTERNAL_HOST_HINT = 'give a fully qualified DNS name such as db.example.com or postgres.other-namespace.svc.cluster.local, or an IP address such as 10.0.3.7';
