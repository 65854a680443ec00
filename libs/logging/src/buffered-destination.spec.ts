import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { bufferedDestination, flushLogger, LOG_BUFFER_BYTES } from './logger';

const dir = mkdtempSync(path.join(tmpdir(), 'logging-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const linesIn = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);

describe('buffered log destination', () => {
  it('holds short lines until flushLogger, which resolves once they are written', async () => {
    const file = path.join(dir, 'flush.log');
    const destination = bufferedDestination(file);
    await once(destination, 'ready');
    const logger = pino(destination);
    for (let i = 0; i < 3; i++) logger.info({ i }, 'line');
    expect(readFileSync(file, 'utf8')).toBe('');
    await flushLogger(logger);
    expect(linesIn(file).map((l) => (JSON.parse(l) as { i: number }).i)).toEqual([0, 1, 2]);
    // Nothing left: resolves all the same.
    await flushLogger(logger);
    expect(linesIn(file)).toHaveLength(3);
  });

  it('writes buffered lines on its timer when no more come', async () => {
    const file = path.join(dir, 'timer.log');
    const destination = bufferedDestination(file);
    await once(destination, 'ready');
    pino(destination).info('lonely line');
    expect(readFileSync(file, 'utf8')).toBe('');
    await once(destination, 'write');
    expect(linesIn(file)).toHaveLength(1);
  });

  it('a graceful stop does not wait longer than the timeout for a destination that never drains', async () => {
    // A stalled stdout reader: flush's callback never comes.
    const stalled = { flush: () => undefined } as unknown as pino.Logger;
    await expect(flushLogger(stalled, 20)).resolves.toBeUndefined();
  });

  it('loses no line when the process exits right after logging', async () => {
    const file = path.join(dir, 'exit.log');
    const script = path.join(dir, 'exit-script.ts');
    const logger = path.resolve(__dirname, 'logger.ts');
    writeFileSync(
      script,
      // An open descriptor, like stdout in production (a path would still be opening at exit).
      `import { openSync } from 'node:fs';
import { createRootLogger, bufferedDestination } from ${JSON.stringify(logger)};
const log = createRootLogger('info', bufferedDestination(openSync(${JSON.stringify(file)}, 'a')));
for (let i = 0; i < 25; i++) log.info({ i, pad: 'x'.repeat(${Math.floor(LOG_BUFFER_BYTES / 10)}) }, 'line');
process.exit(0);
`,
    );
    await promisify(execFile)(process.execPath, ['--import', 'tsx', script], {
      cwd: path.resolve(__dirname, '../../..'),
    });
    const lines = linesIn(file);
    expect(lines).toHaveLength(25);
    expect((JSON.parse(lines[24]) as { i: number }).i).toBe(24);
    // A child process with TypeScript loading: seconds on a loaded machine.
  }, 30_000);
});
