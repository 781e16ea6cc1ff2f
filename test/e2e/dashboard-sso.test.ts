/**
 * Single sign-on to the dashboard through a real OpenID Connect provider (oidc-provider, on
 * this machine) in a real browser: claims map to role and department, the session is a
 * short-lived per-person token, and an account without a role is turned away with the reason.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORG_YAML, startTestBursar, type TestBursar } from '../helpers/bursar.js';
import { launchBrowser } from '../helpers/browser.js';

const SECRET = 'a-client-secret-for-the-test-provider';
const ACCOUNTS: Record<string, Record<string, unknown>> = {
  alice: { preferred_username: 'alice', bursar_role: 'manager', department: 'marketing' },
  carol: { preferred_username: 'carol', bursar_role: ['staff', 'ai-finance'] },
  mallory: { preferred_username: 'mallory', bursar_role: ['staff'] },
};

let t: TestBursar;
let idp: Server;
let browser: Browser;

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** Goes through the provider's own login and consent pages as `login`. */
async function signInWithSso(page: Page, login: string): Promise<void> {
  await page.goto(t.url);
  await page.getByRole('link', { name: 'Sign in with your company account' }).click();
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any');
  await page.locator('button[type="submit"]').click();
  await page.locator('button[type="submit"]').click(); // consent
  await page.waitForURL(`${t.url}/**`);
}

beforeAll(async () => {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  t = await startTestBursar({
    yaml: `${ORG_YAML}\ndashboard:\n  oidc:\n    issuer: ${issuer}\n    client_id: bursar\n    client_secret: { env: TEST_OIDC_SECRET }\n    scopes: [openid, profile]\n    roles: { ai-finance: finance }\n`,
    env: { TEST_OIDC_SECRET: SECRET },
  });
  const provider = new Provider(issuer, {
    clients: [{ client_id: 'bursar', client_secret: SECRET, redirect_uris: [`${t.url}/auth/oidc/callback`], grant_types: ['authorization_code'], response_types: ['code'] }],
    claims: { openid: ['sub'], profile: ['preferred_username', 'bursar_role', 'department'] },
    findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => ({ sub: id, ...(ACCOUNTS[id] ?? {}) }) }),
    cookies: { keys: ['a-cookie-key-for-the-test-provider'] },
  });
  idp = provider.listen(port, '127.0.0.1');
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  idp?.close();
  await t?.close();
});

describe('single sign-on', () => {
  it('signs a manager in with their department from the claims, as a session that ends', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signInWithSso(page, 'alice');
    const who = await page.getByTestId('who').innerText();
    expect(who).toMatch(/sso:alice/);
    expect(who).toMatch(/manager · marketing/);
    expect(await page.evaluate(async () => ((await (await fetch('/admin/v1/whoami')).json()) as { role: string }).role)).toBe('manager');
    const tokens = (await t.admin<{ data: { label: string; role: string; department: string | null; expires_at: number | null }[] }>('GET', '/tokens')).body.data;
    const session = tokens.find((x) => x.label === 'sso:alice');
    expect(session).toMatchObject({ role: 'manager', department: 'marketing' });
    expect(session!.expires_at! - Date.now()).toBeGreaterThan(11 * 3600_000);
    expect(session!.expires_at! - Date.now()).toBeLessThanOrEqual(12 * 3600_000);
    await context.close();
  });

  it('maps a group claim to a role', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signInWithSso(page, 'carol');
    expect(await page.getByTestId('who').innerText()).toMatch(/finance/);
    expect(await page.getByRole('navigation', { name: 'Views' }).innerText()).toMatch(/Chargeback/);
    await context.close();
  });

  it('turns away an account whose claims give no role, saying why', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signInWithSso(page, 'mallory');
    await expect(page.getByRole('alert').innerText()).resolves.toMatch(/has no Bursar role/);
    expect((await context.cookies()).find((c) => c.name === 'bursar_session')).toBeUndefined();
    await context.close();
  });
});
