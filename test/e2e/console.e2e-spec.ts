import { existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_PATH } from '../support/global-setup';
import { TestPlatform } from '../support/test-platform';

/** Screenshots of each page, kept as artifacts of the run (gitignored). */
const SHOTS = path.resolve(__dirname, '../../test-results/console');

/** Chromium as root, headless, with nothing reaching out to the network (the machine's network is closed). */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Generous bounds: CI runs every suite at once on two cores. They bound a wait, they time nothing. */
const WAIT_MS = 30_000;

describe.runIf(existsSync(CHROMIUM_PATH))(
  'the operator console in a real browser (Chromium)',
  { timeout: 4 * WAIT_MS },
  () => {
    let platform: TestPlatform;
    let browser: Browser;
    let alice: Page;
    /** Content Security Policy violations and script errors seen by any page: there must be none. */
    const pageErrors: string[] = [];
    const tokens: Record<string, string> = {};

    /** Waits for what the page shows (the page updates after its API answers): up to WAIT_MS, then fails. */
    const eventually = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: WAIT_MS });
    const shot = (page: Page, name: string) =>
      page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

    /** A fresh browser profile (no cookies, no storage) watching for CSP violations and errors. */
    async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      const page = await context.newPage();
      page.setDefaultTimeout(WAIT_MS);
      // Only the console's own origin counts (the development provider's sign-in page has no favicon).
      page.on('console', (message) => {
        if (message.type() === 'error' && message.location().url.startsWith(platform.url))
          pageErrors.push(`${message.text()} at ${message.location().url}`);
      });
      page.on('pageerror', (err) => pageErrors.push(err.message));
      return { context, page };
    }

    /** Authorization code + PKCE through the development provider's sign-in page, as a person would. */
    async function signIn(page: Page, user: string): Promise<void> {
      await page.goto(`${platform.url}/console`);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('link', { name: user, exact: true }).click();
      await eventually(() => page.getByTestId('signed-in-as').textContent()).toContain(user);
    }

    beforeAll(async () => {
      mkdirSync(SHOTS, { recursive: true });
      platform = await TestPlatform.start();
      // Launched with playwright's own new, empty profile folder (its --user-data-dir) per run.
      browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
      for (const user of ['alice', 'carol']) tokens[user] = await platform.userToken(user);
      // The seeded mismatch: carol (analyst) is refused billing; a machine is refused a scope it was never granted.
      expect((await platform.request('GET', '/users/me', { token: tokens.carol })).status).toBe(200);
      for (let i = 0; i < 3; i++)
        expect((await platform.request('GET', '/billing/invoices', { token: tokens.carol })).status).toBe(403);
      expect(
        (await platform.request('GET', '/billing/invoices', { token: await platform.clientToken('ingest-bot') }))
          .status,
      ).toBe(403);
      alice = (await newPage()).page;
    }, 4 * WAIT_MS);
    afterAll(async () => {
      await browser?.close();
      await platform?.close();
    });

    it('serves the console with a strict CSP, no framing, and lists its routes in the inventory as public', async () => {
      const page = await platform.request('GET', '/console');
      expect(page.status).toBe(200);
      const csp = page.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).toContain(`connect-src 'self' ${new URL(platform.issuer).origin}`);
      expect(page.headers.get('x-frame-options')).toBe('DENY');
      expect(page.body).not.toMatch(/<script>|<script [^>]*>[^<]/);
      const script = await platform.request('GET', '/console/assets/js/main.js');
      expect(script.headers.get('content-type')).toContain('text/javascript');
      expect(script.headers.get('content-security-policy')).toBe(csp);
      expect((await platform.request('GET', '/console/assets/js/..%2F..%2Findex.html')).status).toBe(404);
      const routes = (await platform.request('GET', '/platform/routes', { token: await platform.userToken('olivia') }))
        .body.items;
      expect(routes).toContainEqual(
        expect.objectContaining({ method: 'GET', path: '/console', app: 'console', public: true }),
      );
      expect(routes).toContainEqual(
        expect.objectContaining({
          method: 'GET',
          path: '/platform/access-map',
          permissions: ['platform:authz:explain'],
        }),
      );
    });

    it('alice signs in (authorization code + PKCE) and sees the access map, each cell explaining its grant path', async () => {
      await signIn(alice, 'alice');
      await alice.goto(`${platform.url}/console#/access-map`);
      const cell = (route: string, role: string) => alice.locator(`td[data-route="${route}"][data-column="${role}"]`);
      await eventually(() => cell('GET /billing/invoices', 'analyst').getAttribute('class')).toContain('deny');
      expect(await cell('GET /billing/invoices', 'billing-manager').getAttribute('class')).toContain('allow');
      await cell('GET /billing/invoices', 'admin').locator('button').click();
      expect(await alice.getByTestId('grant-path').textContent()).toContain(
        'billing:invoices:read ← role admin: pattern billing:invoices:*',
      );
      await cell('GET /billing/invoices', 'analyst').locator('button').click();
      expect(await alice.getByTestId('grant-path').textContent()).toContain(
        'Not granted by analyst: billing:invoices:read',
      );
      // The token is in memory only: nothing in web storage or cookies of the console's origin.
      // (A string: this file is compiled without the DOM's types; the expression runs in the page.)
      const stored = await alice.evaluate(
        'JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookies: document.cookie })',
      );
      expect(stored).toBe(JSON.stringify({ local: {}, session: {}, cookies: '' }));
      await shot(alice, 'access-map');
    });

    it("Refusals shows carol's refusal of billing, rising first; a click opens the records, and Explain says why", async () => {
      await alice.goto(`${platform.url}/console#/refusals`);
      const group = alice.locator('[data-testid="refusal-groups"] tr[data-key="GET /billing/invoices"]');
      await group.waitFor();
      expect(await group.locator('td').nth(1).textContent()).toBe('4');
      expect(await alice.locator('[data-testid="refusal-groups"] tbody tr').first().getAttribute('data-key')).toBe(
        'GET /billing/invoices',
      );
      await group.click();
      const carolRow = alice.locator('[data-testid="refusal-records"] tr[data-subject="carol"]').first();
      await carolRow.waitFor();
      expect(await carolRow.textContent()).toContain('insufficient_permission');
      await shot(alice, 'refusals');
      await carolRow.getByRole('button', { name: 'Explain' }).click();
      await eventually(() => alice.getByTestId('verdict').textContent()).toBe(
        'carol in acme: DENY billing:invoices:read (insufficient_permission)',
      );
      await eventually(() => alice.getByTestId('roles-granting').textContent()).toBe(
        ' Roles that grant billing:invoices:read: admin, billing-manager.',
      );
      await shot(alice, 'explain');
    });

    it("alice grants carol billing-manager in People and machines; carol's next request is allowed, audited, in the live tail", async () => {
      await alice.goto(`${platform.url}/console#/people?subject=carol`);
      const carol = alice.locator('[data-testid="users"] tr[data-subject="carol"]');
      await carol.waitFor();
      await carol.getByLabel('Role for carol').selectOption('billing-manager');
      await carol.locator('button[data-action="grant"]').click();
      await eventually(() => alice.getByTestId('change-done').textContent()).toBe(
        'Granted billing-manager to carol: done (audited).',
      );
      expect(await alice.locator('[data-testid="users"] tr[data-subject="carol"] .chip').textContent()).toContain(
        'billing-manager',
      );
      // Narrow a machine: the agent keeps only analytics:events:read.
      const agent = alice.locator('[data-testid="service-accounts"] tr[data-client="assistant-bot"]');
      await agent.getByLabel('Scopes of assistant-bot').fill('analytics:events:read');
      await agent.getByRole('button', { name: 'Set scopes' }).click();
      await eventually(() => alice.getByTestId('change-done').textContent()).toBe(
        'Set the scopes of assistant-bot: done (audited).',
      );
      await eventually(() => alice.getByLabel('Scopes of assistant-bot').inputValue()).toBe('analytics:events:read');
      await shot(alice, 'people');

      await alice.goto(`${platform.url}/console#/audit?subject=carol`);
      await alice.getByTestId('audit-list').waitFor();
      await alice.getByTestId('live-tail').check();
      const allowed = await platform.request('GET', '/billing/invoices', { token: tokens.carol });
      expect(allowed.status).toBe(200);
      const row = alice
        .locator(`[data-testid="audit-list"] tr.allow[data-subject="carol"]`)
        .filter({ hasText: 'GET /billing/invoices' })
        .first();
      await row.waitFor();
      await row.click();
      await eventually(() => alice.getByTestId('chain-status').textContent()).toContain('Verified');
      expect(await alice.getByTestId('record-detail').textContent()).toContain('none: the subject acted itself');
      await shot(alice, 'audit-trail');
      // The grant itself is in the trail as a domain event.
      const events = await platform.request('GET', '/platform/audit?kind=event&event=users.role.granted', {
        token: tokens.alice,
      });
      expect(events.body.items[0]).toMatchObject({ subject: 'alice', event: 'users.role.granted' });
    });

    it('carol signs in and sees no admin page; the API refuses her anyway; her session ends when her token expires', async () => {
      const { context, page } = await newPage();
      await page.clock.install();
      await signIn(page, 'carol');
      expect(await page.locator('#nav a').allTextContents()).toEqual(['My access']);
      expect(await page.getByTestId('my-permissions').textContent()).toContain('billing:invoices:read');
      await page.goto(`${platform.url}/console#/refusals`);
      await eventually(() => page.getByTestId('not-allowed').textContent()).toContain('platform:audit:read');
      await shot(page, 'carol-no-admin-pages');
      expect((await platform.request('GET', '/platform/audit/refusals', { token: tokens.carol })).body).toMatchObject({
        status: 403,
        reason: 'insufficient_permission',
      });
      expect((await platform.request('GET', '/platform/access-map', { token: tokens.carol })).status).toBe(403);
      // The development provider's tokens live an hour: past that, the console signs out by itself.
      await page.clock.fastForward('01:00:01');
      await eventually(() => page.getByTestId('signed-out-message').textContent()).toContain('session expired');
      await context.close();
    });

    it('signing out forgets the token: a reload shows the sign-in page', async () => {
      await alice.getByRole('button', { name: 'Sign out' }).click();
      expect(await alice.getByTestId('signed-out-message').textContent()).toBe('You signed out.');
      await alice.reload();
      await alice.getByRole('button', { name: 'Sign in' }).waitFor();
      expect(await alice.locator('#nav a').count()).toBe(0);
      expect(pageErrors).toEqual([]);
    });
  },
);
