import { executionAsyncId } from 'node:async_hooks';
import { Controller, Get, Module } from '@nestjs/common';
import { Public } from '@platform/auth';
import type { FeatureApp } from '@platform/feature-apps';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestPlatform } from '../support/test-platform';

/**
 * Whether promise hooks are on (an enabled AsyncLocalStorage or async hook): only then does a
 * promise continuation run with an async id of its own; without them it runs with id 0.
 */
async function promiseHooksOn(): Promise<boolean> {
  await Promise.resolve();
  return executionAsyncId() !== 0;
}

@Controller('probe')
@Public()
class ProbeController {
  /** Answers whether promise hooks are on while a request is being served, after a few awaits like a real handler. */
  @Get('promise-hooks')
  async probe() {
    await Promise.resolve();
    return { promiseHooks: await promiseHooksOn() };
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

const PROBE_APP: FeatureApp = {
  manifest: { name: 'probe', prefix: '/probe', team: 'qa', scopes: [], permissions: {} },
  module: ProbeModule,
};

describe('serving requests in the default configuration', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await TestPlatform.start({}, 'pglite', [PROBE_APP]);
  });
  afterAll(() => platform?.close());

  it('the probe sees promise hooks when an AsyncLocalStorage is in use', async () => {
    const { AsyncLocalStorage } = await import('node:async_hooks');
    const storage = new AsyncLocalStorage<object>();
    expect(await storage.run({}, promiseHooksOn)).toBe(true);
    storage.disable();
    await new Promise((resolve) => setImmediate(resolve));
    expect(await promiseHooksOn()).toBe(false);
  });

  it('runs with no promise hook on (no AsyncLocalStorage), also after writes that record events and idempotency keys in their transaction', async () => {
    const first = await platform.request('GET', '/probe/promise-hooks');
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ promiseHooks: false });

    const token = await platform.userToken('alice');
    const invoice = await platform.request('POST', '/billing/invoices', {
      token,
      body: { customer: 'Acme', currency: 'EUR', lines: [{ description: 'Seats', quantity: 1, unitAmount: 100 }] },
    });
    expect(invoice.status).toBe(201);
    const id = (invoice.body as { id: string }).id;
    expect((await platform.request('POST', `/billing/invoices/${id}/open`, { token })).status).toBe(200);
    const payment = await platform.request('POST', `/billing/invoices/${id}/payments`, {
      token,
      headers: { 'idempotency-key': 'probe-payment-1' },
      body: { amount: 100, currency: 'EUR' },
    });
    expect(payment.status).toBe(201);

    const after = await platform.request('GET', '/probe/promise-hooks');
    expect(after.body).toEqual({ promiseHooks: false });
    expect(await promiseHooksOn()).toBe(false);
  });
});
