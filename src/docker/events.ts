// Edge: a live subscription to the Engine's container events of one Compose project, and to volume
// creations. A stream that ends before it is closed is reported, never taken for a quiet stack.
import type { DockerClient } from './client.js';
import { L_PROJECT } from './labels.js';

export type EventSubscription = { close(): void };

/** Splits a stream of newline-delimited JSON into objects; keeps a partial line between chunks. */
export function jsonLines(onObject: (o: unknown) => void): (chunk: Buffer | string) => void {
  let buf = '';
  return (chunk) => {
    buf += chunk.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line) continue;
      try {
        onObject(JSON.parse(line));
      } catch {
        // not JSON: ignore the line rather than stop listening
      }
    }
  };
}

/**
 * Subscribes to the Engine's events matching `filters`; open when this resolves. `onLost` is told once
 * when the stream fails or ends before `close()` (the Engine restarted, the connection dropped): a
 * watcher that waited on, it would otherwise wait for events that never come.
 */
async function subscribe(docker: DockerClient, filters: Record<string, string[]>, onEvent: (raw: unknown) => void, onLost: (e: Error) => void): Promise<EventSubscription> {
  const stream = (await docker.getEvents({ filters })) as NodeJS.ReadableStream & { destroy?: () => void };
  let over = false;
  const lost = (e: Error) => {
    if (over) return;
    over = true;
    onLost(e);
  };
  stream.on('data', jsonLines(onEvent));
  stream.on('error', lost);
  stream.on('end', () => lost(new Error('the Engine ended its event stream')));
  stream.on('close', () => lost(new Error('the connection to the Engine closed')));
  return {
    close: () => {
      over = true;
      stream.destroy?.();
    },
  };
}

/** Subscribes to container events labelled with the project; `onEvent` gets each raw event. */
export function subscribeProjectEvents(
  docker: DockerClient,
  project: string,
  onEvent: (raw: unknown) => void,
  onLost: (e: Error) => void,
): Promise<EventSubscription> {
  return subscribe(docker, { type: ['container'], label: [`${L_PROJECT}=${project}`] }, onEvent, onLost);
}

/**
 * Subscribes to the Engine's volume `create` events (of any project: volume events carry no labels, so
 * a label filter would drop them all); `onEvent` gets each raw event, the volume's name in `Actor.ID`.
 */
export function subscribeVolumeCreates(docker: DockerClient, onEvent: (raw: unknown) => void, onLost: (e: Error) => void): Promise<EventSubscription> {
  return subscribe(docker, { type: ['volume'], event: ['create'] }, onEvent, onLost);
}
