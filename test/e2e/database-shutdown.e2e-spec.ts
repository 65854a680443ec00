import { Logger } from '@nestjs/common';
import { Pool } from 'pg';
import { describe, expect, it } from 'vitest';
import { endPool } from '@platform/database/testing';
import { TcpProxy } from '../support/tcp-proxy';

describe.runIf(process.env.TEST_DATABASE_URL)('shutdown with a hung PostgreSQL connection', () => {
  it('does not wait forever for a connection whose peer stopped answering mid-query', async () => {
    const target = new URL(process.env.TEST_DATABASE_URL as string);
    const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    const viaProxy = new URL(target);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    const pool = new Pool({ connectionString: viaProxy.toString(), max: 2 });
    pool.on('error', () => undefined);
    try {
      const client = await pool.connect();
      client.on('error', () => undefined);
      proxy.stall();
      const hung = client.query('select 1').catch((err: Error) => err);
      const warnings: unknown[] = [];
      const logger = { warn: (...args: unknown[]) => warnings.push(args) } as unknown as Logger;
      await endPool(pool, 300, logger);
      expect(warnings).toHaveLength(1);
      // The query in flight fails instead of hanging with its socket.
      expect(await hung).toBeInstanceOf(Error);
    } finally {
      await proxy.close();
    }
  });
});
