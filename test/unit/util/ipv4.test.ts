// Whether a released address comes back: Docker's IPAM hands out the lowest free one.
import { describe, expect, it } from 'vitest';
import { firstAddress, freeBelow } from '../../../src/util/ipv4.js';

describe('freeBelow', () => {
  it('is empty when every address below it (gateway included) is in use', () => {
    expect(freeBelow('172.22.0.5', '172.22.0.0/16', ['172.22.0.1', '172.22.0.2/16', '172.22.0.3', '172.22.0.4', '172.22.0.9'])).toEqual([]);
    expect(freeBelow('172.22.0.2', '172.22.0.0/16', ['172.22.0.1'])).toEqual([]);
    expect(freeBelow('10.1.2.1', '10.1.2.0/24', [])).toEqual([]);
  });
  it('lists the lower free addresses: Docker would hand out the first of them instead', () => {
    expect(freeBelow('172.22.0.5', '172.22.0.0/16', ['172.22.0.1', '172.22.0.2', '172.22.0.4'])).toEqual(['172.22.0.3']);
    expect(freeBelow('10.1.3.1', '10.1.2.0/23', ['10.1.2.1'], 300)).toHaveLength(255);
    expect(freeBelow('10.1.3.1', '10.1.2.0/23', ['10.1.2.1'], 300)![0]).toBe('10.1.2.2');
  });
  it('ignores addresses above it or outside the subnet, and duplicates', () => {
    expect(freeBelow('172.22.0.3', '172.22.0.0/16', ['172.22.0.1', '172.22.0.2', '172.22.0.2', '10.0.0.1', '172.22.9.9'])).toEqual([]);
    expect(freeBelow('172.22.0.4', '172.22.0.0/16', ['172.22.0.1', '172.22.0.2', '172.22.0.2'])).toEqual(['172.22.0.3']);
  });
  it('does not answer for IPv6, junk, an address outside the subnet, a subnet beyond /8../30, or more than `limit` free', () => {
    expect(freeBelow('fd00::5', 'fd00::/64', [])).toBeUndefined();
    expect(freeBelow('172.22.0.300', '172.22.0.0/16', [])).toBeUndefined();
    expect(freeBelow('172.23.0.5', '172.22.0.0/16', [])).toBeUndefined();
    expect(freeBelow('10.0.0.5', '10.0.0.0/7', [])).toBeUndefined();
    expect(freeBelow('172.22.0.0', '172.22.0.0/16', [])).toBeUndefined();
    expect(freeBelow('172.22.0.40', '172.22.0.0/16', ['172.22.0.1'])).toBeUndefined();
    expect(freeBelow('10.0.0.5', '10.0.0.0/8', ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'])).toEqual([]);
  });
});

describe('firstAddress', () => {
  it('is the subnet address plus one, or empty for what is not an IPv4 subnet', () => {
    expect(firstAddress('172.22.0.0/16')).toBe('172.22.0.1');
    expect(firstAddress('10.1.2.128/25')).toBe('10.1.2.129');
    expect(firstAddress('10.1.2.77/24')).toBe('10.1.2.1');
    expect(firstAddress('fd00::/64')).toBe('');
    expect(firstAddress('10.0.0.0')).toBe('');
  });
});
