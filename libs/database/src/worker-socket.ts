import { Duplex } from 'node:stream';
import type { MessagePort } from 'node:worker_threads';

/**
 * A node-postgres "socket" to the embedded database's worker thread: the wire-protocol bytes go
 * over a `MessagePort` instead of TCP (no port is bound, nothing else on the host can connect).
 * Implements what node-postgres' `Connection` calls on its stream (`connect`, `setNoDelay`,
 * `setKeepAlive`, `ref`, `unref`, `write`, `end`, `destroy`, and the `connect`, `data`, `error`,
 * `close` events).
 *
 * Writes of one tick go out as one message (node-postgres writes Parse, Bind, Describe, Execute
 * and Sync separately). When the port closes from the other side (the worker ended), the stream
 * fails with `ECONNRESET`, as a socket whose server went away. After a graceful `end()` it emits
 * `close`, as a socket does.
 */
export class WorkerSocket extends Duplex {
  private port?: MessagePort;
  private pending: Buffer[] = [];
  private flushScheduled = false;

  /** @param open gives a port connected to a new session of the worker; throws when the worker is gone */
  constructor(private readonly open: () => MessagePort) {
    super();
  }

  /** node-postgres' `stream.connect(port, host)`: the arguments are meaningless here. */
  connect(): this {
    process.nextTick(() => {
      let port: MessagePort;
      try {
        port = this.open();
      } catch (err) {
        this.destroy(Object.assign(err instanceof Error ? err : new Error(String(err)), { code: 'ECONNREFUSED' }));
        return;
      }
      this.port = port;
      port.on('message', (chunk: Uint8Array) =>
        this.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)),
      );
      port.on('close', () => {
        if (this.port !== port) return;
        this.port = undefined;
        this.destroy(Object.assign(new Error('The embedded database connection ended'), { code: 'ECONNRESET' }));
      });
      this.emit('connect');
      this.flush();
    });
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  ref(): this {
    this.port?.ref();
    return this;
  }

  unref(): this {
    this.port?.unref();
    return this;
  }

  override _read(): void {
    // Data is pushed as the worker answers.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.pending.push(chunk);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(() => this.flush());
    }
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.flush();
    this.release();
    callback();
    // The port is closed, so nothing more arrives: end the readable side too and close, as a TCP
    // socket does after both FINs. node-postgres' `Client.end()` resolves only on 'close'.
    this.push(null);
    process.nextTick(() => this.destroy());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.release();
    callback(error);
  }

  private flush(): void {
    this.flushScheduled = false;
    if (!this.port || this.pending.length === 0) return;
    // A fresh ArrayBuffer, transferred: Buffer.concat may hand out a slice of Node's shared pool.
    let length = 0;
    for (const chunk of this.pending) length += chunk.length;
    const bytes = new Uint8Array(length);
    let offset = 0;
    for (const chunk of this.pending) {
      bytes.set(chunk, offset);
      offset += chunk.length;
    }
    this.pending = [];
    this.port.postMessage(bytes, [bytes.buffer]);
  }

  private release(): void {
    const port = this.port;
    this.port = undefined;
    port?.close();
  }
}
