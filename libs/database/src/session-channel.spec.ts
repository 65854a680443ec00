import { once } from 'node:events';
import { MessageChannel } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import {
  fromMessage,
  messageBuffer,
  postFrames,
  SessionChannel,
  STRING_MESSAGE_MAX,
  toMessage,
  type SessionEvents,
} from './session-channel';

/** Frames of one channel message: [session id, bytes or null for the end of the session]. */
function frames(posted: string): Array<[number, number[] | null]> {
  const message = fromMessage(posted);
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const out: Array<[number, number[] | null]> = [];
  for (let offset = 0; offset < message.byteLength;) {
    const id = view.getUint32(offset);
    const length = view.getInt32(offset + 4);
    offset += 8;
    if (length === -1) {
      out.push([id, null]);
      continue;
    }
    out.push([id, [...message.subarray(offset, offset + length)]]);
    offset += length;
  }
  return out;
}

/** A message of frames, as the worker sends them (a latin1 string). */
function message(...parts: Array<[number, number[] | null]>): string {
  const bytes: number[] = [];
  for (const [id, data] of parts) {
    const header = new DataView(new ArrayBuffer(8));
    header.setUint32(0, id);
    header.setInt32(4, data ? data.length : -1);
    bytes.push(...new Uint8Array(header.buffer), ...(data ?? []));
  }
  return toMessage(Buffer.from(bytes));
}

/** Session events that record what arrives; `seen` resolves once `count` events (data or close) arrived. */
function recorder(count = 1): SessionEvents & { received: number[][]; closed: number; seen: Promise<void> } {
  let arrived = 0;
  let done: () => void = () => undefined;
  const seen = new Promise<void>((resolve) => (done = resolve));
  const events = {
    received: [] as number[][],
    closed: 0,
    seen,
    data: (bytes: Buffer) => {
      events.received.push([...bytes]);
      if (++arrived === count) done();
    },
    close: () => {
      events.closed++;
      if (++arrived === count) done();
    },
  };
  return events;
}

describe('SessionChannel: every session of the embedded database over one port', () => {
  const ports: MessageChannel[] = [];
  afterEach(() => {
    for (const { port1, port2 } of ports.splice(0)) {
      port1.close();
      port2.close();
    }
  });
  function channel(): { channel: SessionChannel; worker: MessageChannel['port2'] } {
    const pair = new MessageChannel();
    ports.push(pair);
    return { channel: new SessionChannel(pair.port1), worker: pair.port2 };
  }

  it("sends all sessions' writes of one turn as one message, in order, ends as frames of their own", async () => {
    const { channel: c, worker } = channel();
    const a = c.open(recorder());
    const b = c.open(recorder());
    a.write(new Uint8Array([1, 2]));
    b.write(new Uint8Array([3]));
    a.write(new Uint8Array([4]));
    b.end();
    b.write(new Uint8Array([5]));
    const [first] = (await once(worker, 'message')) as [string];
    expect(frames(first)).toEqual([
      [1, [1, 2]],
      [2, [3]],
      [1, [4]],
      [2, null],
    ]);
    a.write(new Uint8Array([6]));
    const [second] = (await once(worker, 'message')) as [string];
    expect(frames(second)).toEqual([[1, [6]]]);
  });

  it('gives each session its frames of a message; an end frame closes that session only', async () => {
    const { channel: c, worker } = channel();
    const [one, two] = [recorder(2), recorder(2)];
    c.open(one);
    c.open(two);
    worker.postMessage(message([2, [7, 8]], [1, [9]], [2, null], [2, [10]]));
    worker.postMessage(message([1, [11]]));
    await Promise.all([one.seen, two.seen]);
    expect(one).toMatchObject({ received: [[9], [11]], closed: 0 });
    expect(two).toMatchObject({ received: [[7, 8]], closed: 1 });
  });

  it('carries every byte value through the string form of a message (one character per byte)', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const posted = toMessage(all);
    expect(typeof posted).toBe('string');
    expect(posted).toHaveLength(256);
    expect([...fromMessage(posted)]).toEqual([...all]);
    // A worker of an older build posting a Uint8Array is read all the same.
    expect([...fromMessage(new Uint8Array(all))]).toEqual([...all]);
  });

  it('posts a message up to 64 KiB as a string and a larger one as its transferred buffer, both read back whole', async () => {
    const posted: unknown[] = [];
    const port = {
      postMessage: (value: unknown, transfer?: readonly unknown[]) => void posted.push([value, transfer]),
    };
    const small = messageBuffer(STRING_MESSAGE_MAX).fill(0xe9);
    const large = messageBuffer(STRING_MESSAGE_MAX + 1).fill(0xff);
    postFrames(port, small);
    postFrames(port, large);
    const [[first, none], [second, transfer]] = posted as Array<[string | Uint8Array, unknown[] | undefined]>;
    expect(typeof first).toBe('string');
    expect(none).toBeUndefined();
    // Its own ArrayBuffer (never a slice of Node's shared pool), handed over without a copy.
    expect(transfer).toEqual([large.buffer]);
    expect(large.byteOffset).toBe(0);
    expect(large.buffer.byteLength).toBe(STRING_MESSAGE_MAX + 1);
    expect(fromMessage(first).equals(small)).toBe(true);
    expect(fromMessage(second).equals(large)).toBe(true);
  });

  it('closes every session when the port closes (the worker ended) and refuses new ones', async () => {
    const { channel: c, worker } = channel();
    const [one, two] = [recorder(), recorder()];
    c.open(one);
    c.open(two);
    worker.close();
    await Promise.all([one.seen, two.seen]);
    expect([one.closed, two.closed]).toEqual([1, 1]);
    expect(() => c.open(recorder())).toThrow('closed');
  });
});
