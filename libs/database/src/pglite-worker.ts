/**
 * What the embedded database's worker thread runs: PGlite on `workerData.dataDir`, serving the
 * PostgreSQL wire protocol to any number of connections, each a `MessagePort` the main thread
 * sends as `{ type: 'connect', port }`. Bytes in (frontend messages, any chunking) and out
 * (backend messages) are exactly what a PostgreSQL server socket carries, so the main thread uses
 * node-postgres unchanged: named prepared statements, transactions, errors with SQLSTATEs.
 *
 * PGlite is one backend: a connection's messages run up to a sync point (Sync, Query, Terminate,
 * startup, password) as one batch, never interleaved with another connection's; while a
 * connection is inside an explicit transaction, only its batches run. A named statement already
 * prepared by another connection with the same text is not parsed again (ParseComplete is
 * answered): the statement names of node-postgres are per connection, the backend's are not. A
 * Close of a named statement forgets it, so that its next Parse reaches the backend.
 *
 * PGlite starts with PostgreSQL's `-c name=value` settings `workerData.settings` (after PGlite's
 * own). Before `ready`, the thread runs a full garbage collection: opening a fresh folder (initdb)
 * leaves about 430 MB of engine memory only a full collection frees, and the thread allocates too
 * little JavaScript for V8 to run one soon (until then it counts in the process's RSS).
 *
 * Messages to the parent: `{ type: 'ready' }` once open, `{ type: 'failed', message }` when it
 * cannot open, `{ type: 'closed' }` after `{ type: 'close' }` (PGlite closed, files flushed),
 * `{ type: 'memory', usage }` after `{ type: 'memory' }` (the thread's `process.memoryUsage()`
 * figures, in bytes, plus `engine`: the size of PGlite's WebAssembly memory).
 * An engine error that is not a SQL error (the WebAssembly engine aborted) ends the thread with
 * exit code 1: every connection then fails, and the main thread answers 503.
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
  type Port = import('node:worker_threads').MessagePort;
  interface Session {
    port: Port;
    buffer: Buffer;
    started: boolean;
    closed: boolean;
  }
  /** Message types after which the frontend waits for an answer: a batch ends there. */
  const SYNC_POINTS = new Set([
    0x53 /* S */, 0x51 /* Q */, 0x58 /* X */, 0x70 /* p */, 0x48 /* H */, 0x63 /* c */, 0x66 /* f */,
  ]);
  const PARSE_COMPLETE = Buffer.from([0x31, 0, 0, 0, 4]);
  const sessions = new Set<Session>();
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
    let length = 0;
    for (const part of out) length += part.length;
    if (length === 0 || s.closed) return;
    // A fresh ArrayBuffer, transferred (Buffer.concat may return a slice of Node's shared pool).
    const answer = new Uint8Array(length);
    length = 0;
    for (const part of out) {
      answer.set(part, length);
      length += part.length;
    }
    s.port.postMessage(answer, [answer.buffer]);
  }

  /** Runs every runnable batch, the transaction owner's only while it has one open. */
  function pump(): void {
    if (pumping || !db) return;
    pumping = true;
    try {
      for (let progressed = true; progressed;) {
        progressed = false;
        for (const s of owner ? [owner] : [...sessions]) {
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

  function end(s: Session): void {
    if (s.closed) return;
    s.closed = true;
    sessions.delete(s);
    s.port.close();
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

  function attach(port: Port): void {
    const s: Session = { port, buffer: Buffer.alloc(0), started: false, closed: false };
    sessions.add(s);
    port.on('message', (chunk: Uint8Array | null) => {
      if (chunk === null) return end(s);
      const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      s.buffer = s.buffer.length === 0 ? bytes : Buffer.concat([s.buffer, bytes]);
      pump();
    });
    port.on('close', () => end(s));
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
    parentPort?.on('message', (message: { type: string; port?: Port }) => {
      if (message.type === 'connect' && message.port) attach(message.port);
      if (message.type === 'memory') parentPort?.postMessage({ type: 'memory', usage: memoryUsage() });
      if (message.type === 'close') {
        for (const s of [...sessions]) end(s);
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
