import cluster, { type Worker } from 'node:cluster';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

/** The next message of `worker` of the given type; rejects when the worker ends first. */
function nextMessage(worker: Worker, type: string): Promise<{ type: string; [key: string]: unknown }> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: { type: string }) => {
      if (message?.type !== type) return;
      worker.off('exit', onExit);
      worker.off('message', onMessage);
      resolve(message);
    };
    const onExit = (code: number) => {
      worker.off('message', onMessage);
      reject(new Error(`the worker ended (exit code ${code}) before sending ${type}`));
    };
    worker.on('message', onMessage);
    worker.once('exit', onExit);
  });
}

describe('cluster metrics in a worker', () => {
  let worker: Worker | undefined;
  afterEach(async () => {
    if (worker && worker.process.exitCode === null && worker.process.signalCode === null) {
      const exited = new Promise((resolve) => worker?.once('exit', resolve));
      worker.kill();
      await exited;
    }
    worker = undefined;
  });

  it('answers an empty part, and keeps running, when collecting its metrics fails', async () => {
    // This test process is the primary; the worker runs the TypeScript fixture through tsx.
    cluster.setupPrimary({
      exec: path.join(__dirname, 'cluster-metrics-worker.testing.ts'),
      execArgv: ['--import', 'tsx'],
    });
    worker = cluster.fork();
    await nextMessage(worker, 'fixture:ready');
    const part = nextMessage(worker, 'platform-metrics:part');
    worker.send({ type: 'platform-metrics:collect', id: 'scrape-1' });
    expect(await part).toEqual({ type: 'platform-metrics:part', id: 'scrape-1', metrics: [] });
    expect(worker.isConnected()).toBe(true);
  });
});
