import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { MessageChannel, Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { pgliteWorkerSource } from './pglite-worker';
import { fromMessage, toMessage } from './session-channel';

/**
 * A stand-in for the PGlite module whose engine fails on the first message: an engine abort cannot
 * be provoked in the real one on demand. Its execProtocolRawStream is async, as PGlite's is.
 */
const FAILING_ENGINE = `
exports.PGlite = {
  defaultStartParams: [],
  create: async () => ({
    execProtocolRawStream: async () => { throw new Error('engine aborted'); },
    isInTransaction: () => false,
    close: async () => undefined,
  }),
};
`;

/**
 * A stand-in whose engine answers every batch with ReadyForQuery (idle) at once, as PGlite's
 * execProtocolRawStream does (synchronously, before its promise settles).
 */
const ANSWERING_ENGINE = `
exports.PGlite = {
  defaultStartParams: [],
  create: async () => ({
    execProtocolRawStream: async (bytes, { onRawData }) => onRawData(new Uint8Array([0x5a, 0, 0, 0, 5, 0x49])),
    isInTransaction: () => false,
    close: async () => undefined,
  }),
};
`;

/** A startup message (length 8, protocol 3.0) framed for session `id`: header (id, length 8), then the message. */
function startupFrame(id: number): number[] {
  return [0, 0, 0, id, 0, 0, 0, 8, 0, 0, 0, 8, 0, 3, 0, 0];
}

describe('the embedded database worker', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('logs an engine failure and ends with exit code 1 (no unhandled rejection)', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'pglite-worker-'));
    const pglite = path.join(dir, 'failing-pglite.cjs');
    writeFileSync(pglite, FAILING_ENGINE);
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(pgliteWorkerSource(), {
      eval: true,
      stderr: true,
      workerData: { dataDir: dir, pglite, wasmModule: undefined, channel: port2 },
      transferList: [port2],
    });
    const errors: Error[] = [];
    worker.on('error', (err: Error) => errors.push(err));
    let stderr = '';
    worker.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(worker, 'exit');
    const [ready] = (await once(worker, 'message')) as [{ type: string }];
    expect(ready.type).toBe('ready');

    // Session 1's startup message: a complete batch, run at once.
    port1.postMessage(toMessage(Buffer.from(startupFrame(1))));

    const [code] = (await exited) as [number];
    port1.close();
    expect(code).toBe(1);
    // Handled by the worker (logged, exit 1), not an unhandled rejection surfacing as 'error'.
    expect(errors).toEqual([]);
    expect(stderr).toContain('Embedded database engine failed');
  });

  it("answers the sessions of one message with one message (a frame per session's answer)", async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'pglite-worker-'));
    const pglite = path.join(dir, 'answering-pglite.cjs');
    writeFileSync(pglite, ANSWERING_ENGINE);
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(pgliteWorkerSource(), {
      eval: true,
      workerData: { dataDir: dir, pglite, wasmModule: undefined, channel: port2 },
      transferList: [port2],
    });
    try {
      const [ready] = (await once(worker, 'message')) as [{ type: string }];
      expect(ready.type).toBe('ready');
      port1.postMessage(toMessage(Buffer.from([...startupFrame(3), ...startupFrame(4)])));
      const [answer] = (await once(port1, 'message')) as [string];
      expect(typeof answer).toBe('string');
      const readyForQuery = [0x5a, 0, 0, 0, 5, 0x49];
      expect([...fromMessage(answer)]).toEqual([
        0,
        0,
        0,
        3,
        0,
        0,
        0,
        6,
        ...readyForQuery,
        0,
        0,
        0,
        4,
        0,
        0,
        0,
        6,
        ...readyForQuery,
      ]);
    } finally {
      port1.close();
      await worker.terminate();
    }
  });
});
