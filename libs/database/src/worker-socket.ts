import { Duplex } from 'node:stream';
import type { SessionEvents, WorkerSession } from './session-channel';

/**
 * A node-postgres "socket" to the embedded database's worker thread: the wire-protocol bytes go
 * over a session of the {@link SessionChannel} instead of TCP (no port is bound, nothing else on
 * the host can connect). Implements what node-postgres' `Connection` calls on its stream
 * (`connect`, `setNoDelay`, `setKeepAlive`, `ref`, `unref`, `write`, `end`, `destroy`, and the
 * `connect`, `data`, `error`, `close` events).
 *
 * Writes go to the channel, which sends all sessions' writes of one turn of the event loop as one
 * message. When the session closes from the other side (the worker ended), the stream fails with
 * `ECONNRESET`, as a socket whose server went away. After a graceful `end()` it emits `close`, as
 * a socket does. `ref`/`unref` do nothing: the worker thread keeps the process alive until closed.
 */
export class WorkerSocket extends Duplex {
  private session?: WorkerSession;
  private pending: Buffer[] = [];

  /** @param open opens a session of the worker's channel; throws when the worker is gone */
  constructor(private readonly open: (events: SessionEvents) => WorkerSession) {
    super();
  }

  /** node-postgres' `stream.connect(port, host)`: the arguments are meaningless here. */
  connect(): this {
    process.nextTick(() => {
      let session: WorkerSession;
      try {
        session = this.open({
          data: (bytes) => this.push(bytes),
          close: () => {
            if (this.session !== session) return;
            this.session = undefined;
            this.destroy(Object.assign(new Error('The embedded database connection ended'), { code: 'ECONNRESET' }));
          },
        });
      } catch (err) {
        this.destroy(Object.assign(err instanceof Error ? err : new Error(String(err)), { code: 'ECONNREFUSED' }));
        return;
      }
      this.session = session;
      this.emit('connect');
      for (const chunk of this.pending) session.write(chunk);
      this.pending = [];
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
    return this;
  }

  unref(): this {
    return this;
  }

  override _read(): void {
    // Data is pushed as the worker answers.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.session) this.session.write(chunk);
    else this.pending.push(chunk);
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.release();
    callback();
    // The session is ended, so nothing more arrives: end the readable side too and close, as a TCP
    // socket does after both FINs. node-postgres' `Client.end()` resolves only on 'close'.
    this.push(null);
    process.nextTick(() => this.destroy());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.release();
    callback(error);
  }

  private release(): void {
    const session = this.session;
    this.session = undefined;
    session?.end();
  }
}
