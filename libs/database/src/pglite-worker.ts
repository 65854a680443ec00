/**
 * What the embedded database's worker thread runs: PGlite on `workerData.dataDir`, serving the
 * PostgreSQL wire protocol to any number of sessions, all multiplexed over one `MessagePort`
 * (`workerData.channel`, see `SessionChannel` for the frames: session id, length, bytes; length
 * -1 ends a session; a message travels as a latin1 string, one character per byte). Bytes in
 * (frontend messages, any chunking) and out (backend messages) are exactly what a PostgreSQL
 * server socket carries, so the main thread uses node-postgres unchanged: named prepared
 * statements, transactions, errors with SQLSTATEs. Each incoming message is run as far as it can
 * be, and all its answers leave as one message: one thread wake-up per turn, not per session.
 *
 * PGlite is one backend: a session's messages run up to a sync point (Sync, Query, Terminate,
 * startup, password) as one batch, never interleaved with another session's; while a session is
 * inside an explicit transaction, only its batches run. A named statement already prepared by
 * another session with the same text is not parsed again (ParseComplete is answered): the
 * statement names of node-postgres are per connection, the backend's are not. A Close of a named
 * statement forgets it, so that its next Parse reaches the backend.
 *
 * PGlite starts with PostgreSQL's `-c name=value` settings `workerData.settings` (after PGlite's
 * own). Before `ready`, the thread runs a full garbage collection: opening a fresh folder (initdb)
 * leaves about 430 MB of engine memory only a full collection frees, and the thread allocates too
 * little JavaScript for V8 to run one soon (until then it counts in the process's RSS).
 *
 * Messages to the parent: `{ type: 'ready' }` once open, `{ type: 'failed', message }` when it
 * cannot open, `{ type: 'closed' }` after `{ type: 'close' }` (every session ended, PGlite closed,
 * files flushed), `{ type: 'memory', usage }` after `{ type: 'memory' }` (the thread's
 * `process.memoryUsage()` figures, in bytes, plus `engine`: the size of PGlite's WebAssembly memory).
 * An engine error that is not a SQL error (the WebAssembly engine aborted) ends the thread with
 * exit code 1: every session then fails, and the main thread answers 503.
 *
 * Serialized with `Function.prototype.toString` and run with `eval: true` (so that the same code
 * runs from `dist/` and from the TypeScript sources under test): it must not reference anything
 * outside its own body; it gets the resolved PGlite module path from `workerData.pglite`, and
 * the engine compiled once per process from `workerData.wasmModule`.
 */
export function pgliteWorkerMain(): void {
  // This function's source runs as an eval'd worker: it can only require, never import.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- an eval'd worker body has no module scope to import into
  const threads = require('node:worker_threads') as typeof import('node:worker_threads');
  const { parentPort } = threads;
  const workerData = threads.workerData as {
    pglite: string;
    pino?: string;
    dataDir: string;
    wasmModule: unknown;
    settings?: string[];
    channel: import('node:worker_threads').MessagePort;
  };
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- as above; the module path comes from the parent
  const { PGlite } = require(workerData.pglite) as typeof import('@electric-sql/pglite');
  // The platform's JSON log lines, on the thread's stderr (forwarded by the parent's process, flushed before the thread ends).
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- as above
  const pino = (require(workerData.pino ?? 'pino') as { default: typeof import('pino').default }).default;
  const logger = pino(
    {
      base: { service: 'platform', pid: process.pid, thread: 'embedded-database' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    process.stderr,
  );
  interface Session {
    id: number;
    buffer: Buffer;
    started: boolean;
    closed: boolean;
  }
  /** Message types after which the frontend waits for an answer: a batch ends there. */
  const SYNC_POINTS = new Set([
    0x53 /* S */, 0x51 /* Q */, 0x58 /* X */, 0x70 /* p */, 0x48 /* H */, 0x63 /* c */, 0x66 /* f */,
  ]);
  const PARSE_COMPLETE = Buffer.from([0x31, 0, 0, 0, 4]);
  /** A frame's header (session id, length) and the length that ends a session: as SessionChannel's. */
  const FRAME_HEADER = 8;
  const SESSION_END = -1;
  const channel = workerData.channel;
  const sessions = new Map<number, Session>();
  /** The frames of this turn's answers, sent as one message by flush(). */
  let outgoing: Array<{ id: number; parts: Buffer[] | null }> = [];
  let outgoingLength = 0;
  /** Statement name -> SQL text of the named statements the backend holds. */
  const prepared = new Map<string, string>();
  let owner: Session | undefined;
  let pumping = false;
  let db: InstanceType<typeof PGlite>;

  /** Length of the prefix of `s.buffer` that ends at its last sync point (0: nothing to run yet). */
  function runnable(s: Session): number {
    let offset = 0;
    let end = 0;
    const buf = s.buffer;
    if (!s.started) {
      if (buf.length < 4) return 0;
      const length = buf.readInt32BE(0);
      if (buf.length < length) return 0;
      offset = end = length;
    }
    while (offset + 5 <= buf.length) {
      const next = offset + 1 + buf.readInt32BE(offset + 1);
      if (next > buf.length) break;
      if (SYNC_POINTS.has(buf[offset])) end = next;
      offset = next;
    }
    return end;
  }

  /** Runs `bytes` on the backend; @returns the backend's answer (copied out of the engine's memory) */
  function execute(bytes: Uint8Array): Buffer[] {
    const out: Buffer[] = [];
    // execProtocolRawStream runs synchronously up to its (skipped) file sync: the answer is complete on return.
    // It is async, so an engine failure arrives as its rejection, not as a throw into pump()'s catch.
    db.execProtocolRawStream(bytes, {
      syncToFs: false,
      onRawData: (data) => void out.push(Buffer.from(data)),
    }).catch(engineFailed);
    return out;
  }

  /** The engine itself failed (not a SQL error: those are answers). Its state is unknown: end the thread. */
  function engineFailed(err: unknown): never {
    logger.error({ err }, 'Embedded database engine failed');
    process.exit(1);
  }

  /** Runs one batch of `s`, skipping the Parse of a named statement the backend already holds. */
  function runBatch(s: Session, batch: Buffer): void {
    const out: Buffer[] = [];
    let from = 0;
    let offset = 0;
    if (!s.started) {
      offset = batch.readInt32BE(0);
      s.started = true;
    }
    while (offset < batch.length) {
      const next = offset + 1 + batch.readInt32BE(offset + 1);
      if (batch[offset] === 0x43 /* C */ && batch[offset + 5] === 0x53 /* S */) {
        // A closed statement is parsed for real by the next Parse of its name (a client re-preparing it).
        prepared.delete(batch.toString('utf8', offset + 6, batch.indexOf(0, offset + 6)));
      }
      if (batch[offset] === 0x50 /* P */) {
        const nameEnd = batch.indexOf(0, offset + 5);
        const name = batch.toString('utf8', offset + 5, nameEnd);
        if (name !== '') {
          const text = batch.toString('utf8', nameEnd + 1, batch.indexOf(0, nameEnd + 1));
          if (from < offset) out.push(...execute(batch.subarray(from, offset)));
          if (prepared.get(name) === text) {
            out.push(PARSE_COMPLETE);
          } else {
            // Alone, so that its answer tells whether the backend now holds it.
            const answer = execute(batch.subarray(offset, next));
            if (answer[0]?.[0] === 0x31) prepared.set(name, text);
            out.push(...answer);
          }
          from = next;
        }
      }
      offset = next;
    }
    if (from < batch.length) out.push(...execute(batch.subarray(from)));
    if (s.closed || out.length === 0) return;
    outgoing.push({ id: s.id, parts: out });
    outgoingLength += FRAME_HEADER;
    for (const part of out) outgoingLength += part.length;
  }

  /**
   * Sends this turn's frames as one message: a latin1 string, one character per byte (as
   * SessionChannel's `toMessage`: about half the CPU of a transferred ArrayBuffer), or, above
   * 64 KiB, a transferred ArrayBuffer (no copies, no string length limit).
   */
  function flush(): void {
    if (outgoing.length === 0) return;
    // SessionChannel's STRING_MESSAGE_MAX (this eval'd body cannot import it): larger answers are transferred.
    const transferred = outgoingLength > 64 * 1024;
    const message = transferred ? Buffer.from(new ArrayBuffer(outgoingLength)) : Buffer.allocUnsafe(outgoingLength);
    let offset = 0;
    for (const { id, parts } of outgoing) {
      message.writeUInt32BE(id, offset);
      offset += FRAME_HEADER;
      let length = 0;
      for (const part of parts ?? []) {
        message.set(part, offset + length);
        length += part.length;
      }
      message.writeInt32BE(parts ? length : SESSION_END, offset - 4);
      offset += length;
    }
    outgoing = [];
    outgoingLength = 0;
    if (transferred) channel.postMessage(message, [message.buffer]);
    else channel.postMessage(message.toString('latin1'));
  }

  /** Runs every runnable batch, the transaction owner's only while it has one open. */
  function pump(): void {
    if (pumping || !db) return;
    pumping = true;
    try {
      for (let progressed = true; progressed;) {
        progressed = false;
        for (const s of owner ? [owner] : [...sessions.values()]) {
          const n = runnable(s);
          if (n === 0) continue;
          const batch = Buffer.from(s.buffer.subarray(0, n));
          s.buffer = s.buffer.subarray(n);
          runBatch(s, batch);
          owner = db.isInTransaction() ? s : undefined;
          progressed = true;
          if (owner) break;
        }
      }
    } catch (err) {
      engineFailed(err);
    } finally {
      pumping = false;
    }
  }

  /** Ends session `s`; `notify`: the worker ends it (the client is told), else the client left. */
  function end(s: Session, notify: boolean): void {
    if (s.closed) return;
    s.closed = true;
    sessions.delete(s.id);
    if (notify) {
      outgoing.push({ id: s.id, parts: null });
      outgoingLength += FRAME_HEADER;
    }
    if (owner === s) {
      // A connection gone inside a transaction: roll it back, as a PostgreSQL backend would.
      owner = undefined;
      try {
        const query = Buffer.from('ROLLBACK\0');
        const message = Buffer.alloc(5);
        message[0] = 0x51;
        message.writeInt32BE(4 + query.length, 1);
        execute(Buffer.concat([message, query]));
      } catch (err) {
        engineFailed(err);
      }
    }
    pump();
  }

  /** One message of the channel (a latin1 string; a Uint8Array is read as it is): frames of any sessions (a new id opens a session), run, answered at once. */
  function receive(message: string | Uint8Array): void {
    const bytes =
      typeof message === 'string'
        ? Buffer.from(message, 'latin1')
        : Buffer.from(message.buffer, message.byteOffset, message.byteLength);
    for (let offset = 0; offset < bytes.length;) {
      const id = bytes.readUInt32BE(offset);
      const length = bytes.readInt32BE(offset + 4);
      offset += FRAME_HEADER;
      let s = sessions.get(id);
      if (length === SESSION_END) {
        if (s) end(s, false);
        continue;
      }
      if (!s) {
        s = { id, buffer: Buffer.alloc(0), started: false, closed: false };
        sessions.set(id, s);
      }
      const chunk = bytes.subarray(offset, offset + length);
      offset += length;
      s.buffer = s.buffer.length === 0 ? chunk : Buffer.concat([s.buffer, chunk]);
    }
    pump();
    flush();
  }

  /**
   * Two full garbage collections a macrotask apart (the engine's buffers are freed by the second,
   * once their finalizers ran). `gc` is exposed to one new context only: V8's flag is switched
   * back off at once, so that no other context of the process gets it.
   */
  async function collectGarbage(): Promise<void> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- as above
    const v8 = require('node:v8') as typeof import('node:v8');
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- as above
    const vm = require('node:vm') as typeof import('node:vm');
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    v8.setFlagsFromString('--no-expose-gc');
    for (let round = 0; round < 2; round++) {
      await new Promise((resolve) => setImmediate(resolve));
      gc();
    }
  }

  /** The thread's memory figures (bytes): `process.memoryUsage()` and the engine's WebAssembly memory. */
  function memoryUsage(): NodeJS.MemoryUsage & { engine: number } {
    return { ...process.memoryUsage(), engine: (db.Module as unknown as { HEAPU8: Uint8Array }).HEAPU8.length };
  }

  async function main(): Promise<void> {
    try {
      db = await PGlite.create(workerData.dataDir, {
        // The WebAssembly.Module the parent compiled (WebAssembly is not in this project's lib typings).
        pgliteWasmModule: workerData.wasmModule as never,
        startParams: [...PGlite.defaultStartParams, ...(workerData.settings ?? []).flatMap((s) => ['-c', s])],
      });
      // Only memory is at stake: a Node whose V8 refuses the flag opens all the same.
      await collectGarbage().catch(() => undefined);
    } catch (err) {
      parentPort?.postMessage({ type: 'failed', message: (err as Error).message });
      return;
    }
    channel.on('message', receive);
    parentPort?.on('message', (message: { type: string }) => {
      if (message.type === 'memory') parentPort?.postMessage({ type: 'memory', usage: memoryUsage() });
      if (message.type === 'close') {
        for (const s of [...sessions.values()]) end(s, true);
        flush();
        void db.close().then(
          () => parentPort?.postMessage({ type: 'closed' }),
          (err: Error) => parentPort?.postMessage({ type: 'closed', message: err.message }),
        );
      }
    });
    parentPort?.postMessage({ type: 'ready' });
  }
  void main();
}

/** The worker's eval'd source: {@link pgliteWorkerMain}, run from its own text. */
export function pgliteWorkerSource(): string {
  // `__name`: esbuild (tsx) wraps functions with this helper of its module, absent in the eval'd code.
  return `const __name = (target) => target;\n(${pgliteWorkerMain.toString()})()`;
}
