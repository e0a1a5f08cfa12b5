import { describe, expect, it } from 'vitest';
import { hostProblem } from '../../../src/init/host.js';

describe('init --host (issue #11 item 15)', () => {
  it.each(['localhost', 'phase.example.com', '10.0.0.5', 'a.b:8443', 'x:1', 'x:65535'])('accepts %s', (h) => {
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
  ])('rejects %s', (h, why) => {
    expect(hostProblem(h)).toBe(why);
  });
});
