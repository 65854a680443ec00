import type { MessagePort } from 'node:worker_threads';

/** Frame length that ends a session (either side: the client left, or the worker ended it). */
export const SESSION_END = -1;

/** Bytes of a frame's header: session id (uint32) and length (int32, {@link SESSION_END} to end it). */
export const FRAME_HEADER = 8;

/** What a session's owner (a {@link WorkerSession} user) is told. */
export interface SessionEvents {
  /** Wire-protocol bytes from the backend (a view: the receiver keeps it as it is). */
  data(bytes: Buffer): void;
  /** The session ended from the worker's side, or the worker is gone. */
  close(): void;
}

/** One session of the channel, for its socket. */
export interface WorkerSession {
  /** Queues frontend bytes; they leave with the other sessions' bytes of this turn of the event loop. */
  write(bytes: Uint8Array): void;
  /** Ends the session (the worker rolls back its open transaction). Idempotent. */
  end(): void;
}

/**
 * A channel message's bytes as the string that carries them: one character per byte (latin1).
 * Posting a one-byte string costs about half of posting a transferred ArrayBuffer (V8 copies a
 * string's bytes; a typed array goes through Node's host-object serializer and a backing-store
 * transfer): measured 17.6 -> 8.9 µs of CPU per 300-byte round trip between two threads.
 */
export function toMessage(bytes: Buffer): string {
  return bytes.toString('latin1');
}

/**
 * Largest message sent as a string (bytes). A larger one (a big result or COPY) goes as a
 * transferred ArrayBuffer, as before: no copies, and no V8 string length limit (~512 MiB).
 */
export const STRING_MESSAGE_MAX = 64 * 1024;

/** A buffer of `length` bytes to build a message in: its own ArrayBuffer when it will be transferred. */
export function messageBuffer(length: number): Buffer {
  return length > STRING_MESSAGE_MAX ? Buffer.from(new ArrayBuffer(length)) : Buffer.allocUnsafe(length);
}

/** Posts a message built in {@link messageBuffer}: a latin1 string up to {@link STRING_MESSAGE_MAX}, else its buffer transferred. */
export function postFrames(port: Pick<MessagePort, 'postMessage'>, message: Buffer): void {
  if (message.length <= STRING_MESSAGE_MAX) port.postMessage(toMessage(message));
  else port.postMessage(message, [message.buffer as ArrayBuffer]);
}

/** The bytes of a message built by {@link toMessage} (a Uint8Array is accepted as it is). */
export function fromMessage(message: string | Uint8Array): Buffer {
  return typeof message === 'string'
    ? Buffer.from(message, 'latin1')
    : Buffer.from(message.buffer, message.byteOffset, message.byteLength);
}

/**
 * Every session of the embedded database over ONE `MessagePort`: the bytes all sessions write in
 * one turn of the event loop leave as one message, and the worker answers each of its turns with
 * one message. A message per session and direction costs a thread wake-up each (most of the
 * message passing's CPU); under load one wake-up now carries many sessions' frames.
 *
 * A message is a sequence of frames: session id (uint32 BE), length (int32 BE), then that many
 * bytes; length {@link SESSION_END} ends the session. A session exists from its first frame. The
 * frames travel as a latin1 string (see {@link toMessage}). When the port closes (the worker
 * ended), every session is closed and new ones are refused.
 */
export class SessionChannel {
  private readonly sessions = new Map<number, SessionEvents>();
  private nextId = 1;
  private outgoing: Array<{ id: number; bytes: Uint8Array | null }> = [];
  private outgoingLength = 0;
  private flushScheduled = false;
  private closed = false;

  /** @param port one end of the channel; the worker holds the other. Unreferenced: the worker keeps the process alive. */
  constructor(private readonly port: MessagePort) {
    port.on('message', (message: string | Uint8Array) => this.receive(fromMessage(message)));
    port.on('close', () => {
      this.closed = true;
      const open = [...this.sessions.values()];
      this.sessions.clear();
      for (const events of open) events.close();
    });
    port.unref();
  }

  /** Opens a session. @throws Error when the channel is closed (the worker is gone) */
  open(events: SessionEvents): WorkerSession {
    if (this.closed) throw new Error('The embedded database channel is closed');
    const id = this.nextId++;
    this.sessions.set(id, events);
    return {
      write: (bytes) => {
        if (this.sessions.has(id)) this.queue(id, bytes);
      },
      end: () => {
        if (this.sessions.delete(id)) this.queue(id, null);
      },
    };
  }

  private queue(id: number, bytes: Uint8Array | null): void {
    this.outgoing.push({ id, bytes });
    this.outgoingLength += FRAME_HEADER + (bytes?.length ?? 0);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // setImmediate, not nextTick: the queries that answers (and their promise chains) start in
      // this turn all get written before the message leaves.
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed || this.outgoing.length === 0) return;
    // Built in a scratch buffer (Node's pool for small ones) posted as a string, or transferred when large.
    const message = messageBuffer(this.outgoingLength);
    let offset = 0;
    for (const { id, bytes } of this.outgoing) {
      message.writeUInt32BE(id, offset);
      message.writeInt32BE(bytes ? bytes.length : SESSION_END, offset + 4);
      offset += FRAME_HEADER;
      if (bytes) {
        message.set(bytes, offset);
        offset += bytes.length;
      }
    }
    this.outgoing = [];
    this.outgoingLength = 0;
    postFrames(this.port, message);
  }

  private receive(message: Buffer): void {
    for (let offset = 0; offset < message.length;) {
      const id = message.readUInt32BE(offset);
      const length = message.readInt32BE(offset + 4);
      offset += FRAME_HEADER;
      const events = this.sessions.get(id);
      if (length === SESSION_END) {
        if (events) {
          this.sessions.delete(id);
          events.close();
        }
        continue;
      }
      events?.data(message.subarray(offset, offset + length));
      offset += length;
    }
  }
}
