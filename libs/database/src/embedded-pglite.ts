import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { MessageChannel, Worker } from 'node:worker_threads';
import type { PoolConfig } from 'pg';
import { pgliteWorkerSource } from './pglite-worker';
import { SessionChannel, type SessionEvents, type WorkerSession } from './session-channel';
import { WorkerSocket } from './worker-socket';

/** Longest wait, in milliseconds, for the worker to close PGlite at shutdown before it is terminated. */
const CLOSE_TIMEOUT_MS = 10_000;

/**
 * PostgreSQL settings the embedded engine starts with (`-c name=value`). shared_buffers: PGlite's
 * 128 MB default grows its WebAssembly memory to 188 MB, all of it resident; 16 MB keeps it at
 * its 128 MB floor, about 150 MB less RSS. The embedded default serves small data sets (the
 * operating system's page cache still holds the files); PostgreSQL (DATABASE_URL) serves the rest.
 */
export const EMBEDDED_SETTINGS: readonly string[] = ['shared_buffers=16MB'];

/** Memory figures of the embedded database's worker thread, in bytes. */
export interface EmbeddedMemoryUsage {
  /** The thread's V8 heap (reserved, used). */
  heapTotal: number;
  heapUsed: number;
  /** Memory outside the thread's heap: its ArrayBuffers and the engine's WebAssembly memory. */
  external: number;
  arrayBuffers: number;
  /** PGlite's WebAssembly memory (it only grows). */
  engine: number;
}

/** A compiled `WebAssembly.Module` (the project's `lib` has no WebAssembly types). */
type WasmModule = object;
const { WebAssembly: wasm } = globalThis as unknown as {
  WebAssembly: { compile(bytes: Uint8Array): Promise<WasmModule> };
};

let engine: Promise<WasmModule> | undefined;

/**
 * PGlite's WebAssembly engine, compiled once per process (about 9 MB; compiling it is most of a
 * worker's start): every worker of the process (a test run starts many platforms) is given it.
 */
function compiledEngine(pgliteEntry: string): Promise<WasmModule> {
  engine ??= readFile(path.join(path.dirname(pgliteEntry), 'pglite.wasm')).then((bytes) => wasm.compile(bytes));
  return engine;
}

/**
 * The embedded database (PGlite on `dataDir`) in a worker thread, so that the engine never runs on
 * the HTTP event loop. It speaks the PostgreSQL wire protocol: {@link poolConfig} gives
 * node-postgres options whose connections reach it, so the embedded default and PostgreSQL share
 * one driver path (node-postgres, real named prepared statements, the same transactions).
 *
 * When the worker ends unexpectedly (the engine aborted), every open connection fails with
 * `ECONNRESET` and new ones with `ECONNREFUSED`: requests are answered 503 `database_unavailable`.
 */
export class EmbeddedPglite {
  private exited = false;
  private exitCode?: number;
  private closing?: Promise<void>;

  private constructor(
    private readonly worker: Worker,
    private readonly channel: SessionChannel,
    private readonly onExit: (code: number) => void,
  ) {
    worker.on('exit', (code) => {
      this.exited = true;
      this.exitCode = code;
      if (!this.closing) this.onExit(code);
    });
  }

  /**
   * Starts the worker and opens PGlite on `dataDir` (created when empty).
   * @param onExit called when the worker ends without {@link close} (with its exit code)
   * @throws Error when PGlite cannot open the folder
   */
  static async start(dataDir: string, onExit: (code: number) => void = () => undefined): Promise<EmbeddedPglite> {
    const resolve = createRequire(__filename).resolve;
    const pglite = resolve('@electric-sql/pglite');
    const wasmModule = await compiledEngine(pglite);
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(pgliteWorkerSource(), {
      eval: true,
      workerData: { dataDir, pglite, pino: resolve('pino'), wasmModule, settings: EMBEDDED_SETTINGS, channel: port2 },
      transferList: [port2],
    });
    const channel = new SessionChannel(port1);
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error) => {
        worker.off('message', onMessage);
        reject(err);
      };
      const onMessage = (message: { type: string; message?: string }) => {
        if (message.type === 'ready') {
          worker.off('error', fail);
          worker.off('exit', onEarlyExit);
          worker.off('message', onMessage);
          resolve();
        } else if (message.type === 'failed') {
          void worker.terminate();
          fail(new Error(`The embedded database could not open ${dataDir}: ${message.message}`));
        }
      };
      const onEarlyExit = (code: number) =>
        fail(new Error(`The embedded database worker ended while opening (exit code ${code})`));
      worker.on('message', onMessage);
      worker.once('error', fail);
      worker.once('exit', onEarlyExit);
    });
    // An error of the worker after start ends it ('exit' follows): the connections fail then.
    worker.on('error', () => undefined);
    return new EmbeddedPglite(worker, channel, onExit);
  }

  /** node-postgres options (for a `Pool` or `Client`) whose connections go to this database. */
  poolConfig(): PoolConfig {
    return {
      user: 'postgres',
      database: 'postgres',
      host: 'embedded',
      stream: () => new WorkerSocket((events) => this.connect(events)),
    };
  }

  /**
   * The worker thread's memory (its heap and the engine's; the process's `process.memoryUsage()`
   * shows the main thread's heap only).
   * @throws Error when the worker is not running
   */
  async memoryUsage(): Promise<EmbeddedMemoryUsage> {
    if (this.exited || this.closing) throw new Error('The embedded database is not running');
    const answer = new Promise<EmbeddedMemoryUsage>((resolve, reject) => {
      const onMessage = (message: { type: string; usage?: EmbeddedMemoryUsage }) => {
        if (message.type !== 'memory' || !message.usage) return;
        this.worker.off('message', onMessage);
        this.worker.off('exit', onExit);
        const { heapTotal, heapUsed, external, arrayBuffers, engine } = message.usage;
        resolve({ heapTotal, heapUsed, external, arrayBuffers, engine });
      };
      const onExit = () => {
        this.worker.off('message', onMessage);
        reject(new Error('The embedded database ended'));
      };
      this.worker.on('message', onMessage);
      this.worker.once('exit', onExit);
    });
    this.worker.postMessage({ type: 'memory' });
    return answer;
  }

  /** Whether the worker is running (false after a crash or {@link close}). */
  get running(): boolean {
    return !this.exited;
  }

  /**
   * Closes PGlite in the worker (its files flushed), then ends the worker. Connections still open
   * are ended (one inside a transaction rolled back). Bounded: after 10 s the worker is terminated.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.exited) return;
      const closed = new Promise<void>((resolve) => {
        this.worker.on('message', (message: { type: string }) => message.type === 'closed' && resolve());
        this.worker.once('exit', () => resolve());
      });
      let timer: NodeJS.Timeout | undefined;
      this.worker.postMessage({ type: 'close' });
      await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_TIMEOUT_MS)))]);
      clearTimeout(timer);
      await this.worker.terminate();
    })();
    return this.closing;
  }

  /** A new session of the worker's channel. @throws Error when the worker is gone or closing */
  private connect(events: SessionEvents): WorkerSession {
    if (this.exited || this.closing) {
      throw new Error(
        `The embedded database is ${this.closing ? 'closed' : `down (worker exit code ${this.exitCode})`}`,
      );
    }
    return this.channel.open(events);
  }
}
