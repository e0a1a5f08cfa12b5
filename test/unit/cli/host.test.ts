import { describe, expect, it } from 'vitest';
import { hostProblem } from '../../../src/init/host.js';

describe('init --host (issue #11 item 15)', () => {
  it.each(['localhost', 'phase.example.com', '10.0.0.5', '255.255.255.255:443', '1password.example', 'a.b:8443', 'x:1', 'x:65535'])('accepts %s', (h) => {
    expect(hostProblem(h)).toBeUndefined();
  });
  it.each([
    ['a.b:99999999', 'port 99999999 is out of range: use 1-65535'],
    ['a.b:0', 'port 0 is out of range: use 1-65535'],
    ['a.b:65536', 'port 65536 is out of range: use 1-65535'],
    ['a..b', 'each dot-separated part of a host name is 1-63 letters, digits or -, not starting or ending with -'],
    ['-a.b', 'give a DNS name or IP, optionally with a port, e.g. --host phase.example.com or --host 10.0.0.5:8443'],
    ['a b', 'give a DNS name or IP, optionally with a port, e.g. --host phase.example.com or --host 10.0.0.5:8443'],
    ['a.b:', 'give a DNS name or IP, optionally with a port, e.g. --host phase.example.com or --host 10.0.0.5:8443'],
    // Until 2026-11-29 these passed, and failed later in openssl (exit 1) or went into .env.
    ['999.999.999.999', '999.999.999.999 is neither an IPv4 address (four numbers 0-255) nor a DNS name (whose last part is not all digits)'],
    ['10.0.5:80', '10.0.5 is neither an IPv4 address (four numbers 0-255) nor a DNS name (whose last part is not all digits)'],
    ['example.123', 'example.123 is neither an IPv4 address (four numbers 0-255) nor a DNS name (whose last part is not all digits)'],
  ])('rejects %s', (h, why) => {
    expect(hostProblem(h)).toBe(why);
  });
});
