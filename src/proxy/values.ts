// What may be written into the nginx config: each value checked again (by the spec's own rules in
// spec/values.ts) and quoted as nginx needs, so the renderer never writes what could not be checked.
import { HEADER_NAME, ROUTE_PATH, isCidr } from '../spec/values.js';

/**
 * A header name as one nginx word: letters, digits and "-" (what nginx passes on) need no quoting.
 * Throws on anything else.
 */
export function nginxHeaderWord(h: string): string {
  if (!HEADER_NAME.test(h)) throw new Error(`refusing to write ${JSON.stringify(h)} into the nginx config: not an HTTP header name nginx passes on`);
  return h;
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
