import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { MessageChannel, Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { pgliteWorkerSource } from './pglite-worker';

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
    const worker = new Worker(pgliteWorkerSource(), {
      eval: true,
      stderr: true,
      workerData: { dataDir: dir, pglite, wasmModule: undefined },
    });
    const errors: Error[] = [];
    worker.on('error', (err: Error) => errors.push(err));
    let stderr = '';
    worker.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(worker, 'exit');
    const [ready] = (await once(worker, 'message')) as [{ type: string }];
    expect(ready.type).toBe('ready');

    const { port1, port2 } = new MessageChannel();
    worker.postMessage({ type: 'connect', port: port2 }, [port2]);
    // A startup message (length 8, protocol 3.0): a complete batch, run at once.
    port1.postMessage(new Uint8Array([0, 0, 0, 8, 0, 3, 0, 0]));

    const [code] = (await exited) as [number];
    port1.close();
    expect(code).toBe(1);
    // Handled by the worker (logged, exit 1), not an unhandled rejection surfacing as 'error'.
    expect(errors).toEqual([]);
    expect(stderr).toContain('Embedded database engine failed');
  });
});
