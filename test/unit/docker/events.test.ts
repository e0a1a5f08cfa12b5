// The event subscription's edge: events are passed on line by line, and a stream that ends or fails
// before close() is reported once (a stream we close is not).
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { DockerClient } from '../../../src/docker/client.js';
import { subscribeProjectEvents } from '../../../src/docker/events.js';

const engineWith = (stream: PassThrough) => ({ getEvents: async () => stream }) as unknown as DockerClient;
const tick = () => new Promise((r) => setImmediate(r));

describe('subscribeProjectEvents', () => {
  it('passes each event on, and reports once a stream that ends before it is closed', async () => {
    const stream = new PassThrough();
    const events: unknown[] = [];
    const lost: string[] = [];
    await subscribeProjectEvents(engineWith(stream), 'demo', (e) => events.push(e), (e) => lost.push(e.message));
    stream.write('{"Action":"start"}\n{"Act');
    stream.end('ion":"die"}\n');
    stream.resume();
    await tick();
    await tick();
    expect(events).toEqual([{ Action: 'start' }, { Action: 'die' }]);
    expect(lost).toEqual(['the Engine ended its event stream']);
  });

  it('reports a stream error once', async () => {
    const stream = new PassThrough();
    const lost: string[] = [];
    await subscribeProjectEvents(engineWith(stream), 'demo', () => {}, (e) => lost.push(e.message));
    stream.destroy(new Error('socket hang up'));
    await tick();
    expect(lost).toEqual(['socket hang up']);
  });

  it('reports nothing when it is closed', async () => {
    const stream = new PassThrough();
    const lost: string[] = [];
    const sub = await subscribeProjectEvents(engineWith(stream), 'demo', () => {}, (e) => lost.push(e.message));
    sub.close();
    await tick();
    expect(stream.destroyed).toBe(true);
    expect(lost).toEqual([]);
  });
});
