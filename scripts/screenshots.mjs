// Refreshes the dashboard screenshots in docs/screenshots from a running Bursar (the demo's, so
// every view has something to show): signs in with an admin token and captures each view.
//   node scripts/screenshots.mjs <url> <admin token>
// Needs Debian's Chromium (apt-get install chromium) and `npm run build`.
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

const [url = 'http://127.0.0.1:4000', token = process.env.BURSAR_TOKEN] = process.argv.slice(2);
if (!token) throw new Error('usage: node scripts/screenshots.mjs <url> <admin token>');
const VIEWS = [['overview', '/'], ['budgets', '/budgets'], ['drill-down', '/explore'], ['models', '/models'], ['agents', '/agents'], ['outcomes', '/outcomes'], ['alerts', '/alerts'], ['chargeback', '/chargeback'], ['keys', '/keys'], ['audit', '/audit']];
const out = new URL('../docs/screenshots/', import.meta.url);
mkdirSync(out, { recursive: true });

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
await page.goto(url);
await page.getByLabel('Admin token').fill(token);
await page.getByRole('button', { name: 'Sign in' }).click();
await page.getByTestId('who').waitFor();
for (const [name, path] of VIEWS) {
  await page.goto(`${url}/#${path}`);
  await page.getByRole('heading', { level: 1 }).first().waitFor();
  await page.waitForLoadState('networkidle');
  if (name === 'budgets') await page.getByRole('table', { name: 'Budgets' }).getByRole('row').nth(1).click().catch(() => {});
  if (name === 'chargeback') await page.getByRole('table', { name: 'Allocation runs' }).getByRole('row').nth(1).click().catch(() => {});
  await page.waitForTimeout(600); // charts animate in
  await page.screenshot({ path: new URL(`${name}.png`, out).pathname, fullPage: true });
  console.log(`docs/screenshots/${name}.png`);
}
await browser.close();
