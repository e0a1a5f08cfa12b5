// Template rendering and secret generation for `init`. Pure except for the random source.
import { randomBytes } from 'node:crypto';

/** 32 random bytes from the OS's cryptographic source, hex (the same as `openssl rand -hex 32`). */
export function generateSecret(): string {
  return randomBytes(32).toString('hex');
}

/** Replaces `{{NAME}}` tokens; every token must have a value. */
export function renderTemplate(text: string, vars: Record<string, string>): string {
  return text.replace(/\{\{([A-Z_]+)\}\}/g, (_, name: string) => {
    const v = vars[name];
    if (v === undefined) throw new Error(`template token {{${name}}} has no value`);
    return v;
  });
}

export type ClientIpChoice = { mode: 'direct' } | { mode: 'cloudflare'; trusted?: string[] } | { mode: 'header'; header: string; trusted: string[] };

/** The spec's `client_ip:` value for a choice, as inline YAML (every value quoted). */
export function clientIpYaml(c: ClientIpChoice): string {
  const trusted = c.mode !== 'direct' && c.trusted?.length ? `, trusted: [${c.trusted.map((t) => JSON.stringify(t)).join(', ')}]` : '';
  if (c.mode === 'header') return `{ mode: header, header: ${JSON.stringify(c.header)}${trusted} }`;
  return `{ mode: ${c.mode}${trusted} }`;
}
