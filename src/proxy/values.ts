// What may be written into the nginx config: each value checked again (by the spec's own rules in
// spec/values.ts) and quoted as nginx needs, so the renderer never writes what could not be checked.
import { HEADER_NAME, ROUTE_PATH, isCidr } from '../spec/values.js';

/**
 * A header name as one nginx word: bare when plain, else single-quoted with `\` and `'` escaped
 * (nginx takes real_ip_header literally, no variables). Throws on anything that is not a header name.
 */
export function nginxHeaderWord(h: string): string {
  if (!HEADER_NAME.test(h)) throw new Error(`refusing to write ${JSON.stringify(h)} into the nginx config: not an HTTP header name`);
  return /^[A-Za-z0-9_-]+$/.test(h) ? h : `'${h.replace(/[\\']/g, '\\$&')}'`;
}

/** Throws unless `s` is a CIDR range (for the nginx renderer: never write what could not be checked). */
export function nginxCidr(s: string): string {
  if (!isCidr(s)) throw new Error(`refusing to write ${JSON.stringify(s)} into the nginx config: not a CIDR range`);
  return s;
}

/** Throws unless `s` is a route path (for the nginx renderer). */
export function nginxPath(s: string): string {
  if (!ROUTE_PATH.test(s)) throw new Error(`refusing to write ${JSON.stringify(s)} into the nginx config: not a URL path`);
  return s;
}
