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

/** An HTTP header name: an RFC 7230 token. Kept equal to the header pattern in the schema (a test checks it). */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export const CIDR_HINT = 'give an IPv4 or IPv6 range such as 10.0.0.0/8 or 2400:cb00::/32 (prefix 0-32 for IPv4, 0-128 for IPv6)';
export const HEADER_HINT = 'an HTTP header name such as X-Forwarded-For (letters, digits and !#$%&\'*+-.^_`|~)';
