// IPv4 arithmetic for Docker networks. Pure.

const toInt = (ip: string): number | undefined => {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
};
const toText = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

/** An IPv4 subnet's first host address as a number, or undefined when `subnet` is not one (/8 to /30). */
function firstHost(subnet: string): { first: number; mask: number } | undefined {
  const [base, lenText] = subnet.split('/');
  const len = Number(lenText);
  const net = base === undefined ? undefined : toInt(base);
  if (net === undefined || !Number.isInteger(len) || len < 8 || len > 30) return undefined;
  const mask = (~0 << (32 - len)) >>> 0;
  return { first: (((net & mask) >>> 0) + 1) >>> 0, mask };
}

/**
 * The free addresses of `subnet` below `ip`. Docker's default IPAM hands out the lowest free address, so
 * a container that releases `ip` and connects again at once gets `ip` back only when this is empty.
 * `used` are the addresses in use (a `/len` suffix is allowed), the gateway among them; the subnet's
 * network address is never handed out. Undefined when an argument is not IPv4 (e.g. an IPv6 subnet),
 * `ip` is outside the subnet, or more than `limit` addresses are free below it (the work stays bounded).
 */
export function freeBelow(ip: string, subnet: string, used: readonly string[], limit = 16): string[] | undefined {
  const own = toInt(ip);
  const s = firstHost(subnet);
  if (own === undefined || !s || ((own & s.mask) >>> 0) !== ((s.first - 1) >>> 0) || own < s.first) return undefined;
  const taken = new Set<number>();
  for (const u of used) {
    const n = toInt(u.split('/')[0]!);
    if (n !== undefined && n >= s.first && n < own) taken.add(n);
  }
  if (own - s.first - taken.size > limit) return undefined;
  const free: string[] = [];
  for (let n = s.first; n < own; n++) if (!taken.has(n)) free.push(toText(n));
  return free;
}

/** The first host address of an IPv4 subnet (Docker's default gateway), or '' when it is not one. */
export function firstAddress(subnet: string): string {
  const s = firstHost(subnet);
  return s ? toText(s.first) : '';
}
