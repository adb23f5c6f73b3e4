// The web console in a real headless Chromium (Debian's `chromium`), driven by
// playwright-core with the system browser; no browser is downloaded. The
// server is the real `certbound serve`, and tokens are fetched with curl:
// sign in; paste a self-signed PEM and see it parsed; paste an expired one and
// see saving blocked; paste a CA without a constraint and see the warning;
// save; get a token; rotate the trust store and see the old certificate
// refused and the new one accepted; delete. Also: works without JavaScript,
// by keyboard, at 320 px, with no CSP violation.

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { curlToken, startServer } from './lib/server.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
// The README's picture is refreshed with CONSOLE_SCREENSHOT=../docs/console-client-edit.png;
// by default the screenshot goes to test-results/ (ignored by git).
const SCREENSHOT = resolve(
  dirname(fileURLToPath(import.meta.url)),
  process.env.CONSOLE_SCREENSHOT || 'test-results/console-client-edit.png'
);
const CLIENT_ID = 'partner-inc';

let server;
let browser;
let context;
let page;
const problems = []; // console errors, CSP violations, uncaught exceptions

before(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium and chromium-driver packages`);
  }
  server = await startServer();
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  // The server certificate is from the test's own CA, which this browser profile does not know.
  context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1360, height: 900 } });
  page = await context.newPage();
  page.on('console', (m) => {
    // Refusals the tests cause on purpose (a wrong token: 401, a blocked save: 422) are logged as failed loads.
    const expected = /^Failed to load resource: the server responded with a status of (401|422) /.test(m.text());
    if ((m.type() === 'error' || m.type() === 'warning') && !expected) {
      problems.push(`console ${m.type()}: ${m.text()}`);
    }
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
});

after(async () => {
  await browser?.close();
  if (server) {
    await server.stop();
  }
});

const pem = (name) => readFileSync(server.file(name), 'utf8');
const url = (path) => `${server.console}${path}`;
const trustStore = () => page.getByLabel('Certificate trust store (PEM)');

/** Wait until the live status line says `text`. */
async function statusSays(text) {
  await page.locator('#diag-status', { hasText: text }).waitFor({ timeout: 10_000 });
}

test('signing in is required, with the admin token', async () => {
  await page.goto(url('/console/clients'));
  assert.match(page.url(), /\/console\/signin\?next=%2Fconsole%2Fclients$/);
  assert.equal(await page.title(), 'Sign in — certbound console');
  await page.getByLabel('Admin token').fill('not-the-admin-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('That is not the admin token.').waitFor();

  await page.getByLabel('Admin token').fill(server.token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/console\/clients$/);
  assert.equal(await page.title(), 'Clients — certbound console');
  assert.ok(!(await page.content()).includes(server.token), 'the token is on the page');
  const [session] = (await context.cookies()).filter((c) => c.name === '__Secure-certbound-console');
  assert.ok(session, 'no session cookie');
  assert.equal(session.httpOnly, true);
  assert.equal(session.secure, true);
  assert.equal(session.sameSite, 'Strict');
  assert.equal(session.path, '/console');
  assert.ok(!session.value.includes(server.token));
});

test('a pasted self-signed certificate is parsed as it is pasted', async () => {
  await page.getByRole('link', { name: 'New client' }).click();
  assert.equal(await page.title(), 'New client — certbound console');
  await page.getByLabel('Name', { exact: true }).fill('Partner Inc');
  await page.getByLabel('Client id (optional)').fill(CLIENT_ID);
  await trustStore().fill(pem('partner-2025.crt'));
  await statusSays('1 certificate: no errors, no warnings.');
  const cert = page.locator('#cert-1');
  const text = await cert.innerText();
  const x509 = new X509Certificate(pem('partner-2025.crt'));
  for (const want of [
    'Certificate 1: partner.example', 'self-signed', 'CN=partner.example', 'O=Partner Inc',
    'TLS Web Client Authentication (clientAuth)', 'ECDSA P-256', 'days left', x509.fingerprint256,
    'self-signed leaf: authenticates exactly this certificate',
  ]) {
    assert.ok(text.includes(want), `the diagnosis lacks ${want}:\n${text}`);
  }
});

test('an expired certificate is an error that blocks saving', async () => {
  await trustStore().fill(pem('expired.crt'));
  await statusSays('saving is blocked');
  const finding = page.locator('#cert-1 .finding.error', { hasText: 'expired on 2021-01-01' });
  await finding.waitFor();
  await page.getByRole('button', { name: 'Save client' }).click();
  const summary = page.locator('#error-summary');
  assert.match(await summary.innerText(), /Not saved: 1 problem to fix[\s\S]*expired on 2021-01-01/);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'error-summary', 'focus moves to the problems');
  // What was typed is kept.
  assert.equal(await page.getByLabel('Client id (optional)').inputValue(), CLIENT_ID);
});

test('a CA without a subject constraint is a warning, and saving stays allowed', async () => {
  await trustStore().fill(`${pem('partner-2025.crt')}\n${pem('partner-ca/ca.crt')}`);
  await statusSays('2 certificates: no errors, 1 warning.');
  const warning = page.locator('.summary.warning');
  assert.match(await warning.innerText(), /no tls_client_auth_subject_dn or tls_client_auth_san_\* constraint is set/);
  assert.match(await page.locator('#cert-2 h3').innerText(), /Partner Issuing CA\s*CA/);
  // This is the picture for the README: the edit page with live diagnostics.
  mkdirSync(dirname(SCREENSHOT), { recursive: true });
  await page.locator('#cert-2').scrollIntoViewIfNeeded();
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  // A constraint silences the warning.
  await page.getByLabel('Subject DN').fill('CN=partner.example,O=Partner Inc');
  await statusSays('2 certificates: no errors, no warnings.');
  await page.getByLabel('Subject DN').fill('');
});

test('saving registers the client, and curl gets a token with its certificate', async () => {
  await trustStore().fill(pem('partner-2025.crt'));
  await statusSays('1 certificate: no errors, no warnings.');
  await page.getByRole('button', { name: 'Save client' }).click();
  await page.waitForURL(new RegExp(`/console/clients/${CLIENT_ID}\\?saved=created$`));
  await page.getByText('Client created.').waitFor();
  assert.equal(await page.title(), 'Client Partner Inc — certbound console');
  const thumbprint = (await page.locator('#cert-1 .fingerprint').nth(1).innerText()).trim();

  const reply = curlToken(server, CLIENT_ID, 'partner-2025');
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  const claims = JSON.parse(Buffer.from(reply.body.access_token.split('.')[1], 'base64url'));
  assert.equal(claims.cnf['x5t#S256'], thumbprint, 'the token is bound to the certificate the console showed');
});

test('rotating the trust store refuses the old certificate and accepts the new one', async () => {
  await trustStore().fill(pem('partner-2026.crt'));
  await statusSays('1 certificate: no errors, no warnings.');
  await page.getByRole('button', { name: 'Save client' }).click();
  await page.getByText('Changes saved.').waitFor();
  const old = curlToken(server, CLIENT_ID, 'partner-2025');
  assert.equal(old.status, 401, JSON.stringify(old.body));
  assert.equal(old.body.error, 'invalid_client');
  const fresh = curlToken(server, CLIENT_ID, 'partner-2026');
  assert.equal(fresh.status, 200, JSON.stringify(fresh.body));
});

test('the audit page shows the refusal with its precise reason', async () => {
  await page.getByRole('link', { name: 'Audit' }).click();
  await page.getByLabel('Client id').fill(CLIENT_ID);
  await page.getByLabel('Result').selectOption('fail');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/\/console\/audit\?client=partner-inc&result=fail/);
  const row = page.locator('table.audit tbody tr').first();
  const text = await row.innerText();
  assert.match(text, /refused/);
  assert.match(text, /CN=partner\.example/);
  const reason = (await row.locator('td[data-label="Reason"]').innerText()).trim();
  assert.ok(reason.length > 10 && reason !== '—', `no reason: ${text}`);
});

test('the listeners page shows each listener and its certificate', async () => {
  await page.getByRole('link', { name: 'Listeners' }).click();
  const text = await page.locator('main').innerText();
  for (const want of ['console', 'mtls', 'required: any certificate is accepted', 'off: no client certificate', 'Valid until', 'days left', 'DNS:localhost']) {
    assert.ok(text.includes(want), `listeners page lacks ${want}`);
  }
});

test('everything works by keyboard, with visible focus', async () => {
  await page.goto(url('/console/clients'));
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'main');
  // Tab to the client's link and open it.
  for (let i = 0; i < 20; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(() => document.activeElement?.textContent === 'Partner Inc')) {
      break;
    }
  }
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none', 'the focused link has no visible outline');
  await page.keyboard.press('Enter');
  await page.waitForURL(new RegExp(`/console/clients/${CLIENT_ID}$`));
});

test('every page is readable at 320 px wide', async () => {
  await page.setViewportSize({ width: 320, height: 640 });
  for (const path of ['/console/clients', `/console/clients/${CLIENT_ID}`, '/console/clients/new', '/console/listeners', '/console/audit']) {
    await page.goto(url(path));
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 320, `${path} is ${width} px wide at a 320 px viewport`);
    assert.ok((await page.title()).endsWith(' — certbound console'));
  }
  await page.setViewportSize({ width: 1360, height: 900 });
});

test('without JavaScript, Check still shows the diagnosis', async () => {
  const plain = await browser.newContext({ ignoreHTTPSErrors: true, javaScriptEnabled: false });
  await plain.addCookies((await context.cookies()).filter((c) => c.name === '__Secure-certbound-console'));
  const p = await plain.newPage();
  await p.goto(url('/console/clients/new'));
  await p.getByLabel('Certificate trust store (PEM)').fill(pem('expired.crt'));
  await p.getByRole('button', { name: 'Check certificates' }).click();
  await p.locator('#diag-status', { hasText: 'saving is blocked' }).waitFor();
  assert.match(await p.locator('#cert-1').innerText(), /old-partner\.example[\s\S]*expired on 2021-01-01/);
  await plain.close();
});

test('deleting asks for confirmation, then the client is gone', async () => {
  await page.goto(url(`/console/clients/${CLIENT_ID}`));
  await page.getByRole('link', { name: 'Delete this client…' }).click();
  assert.equal(await page.title(), 'Delete client Partner Inc? — certbound console');
  assert.equal(curlToken(server, CLIENT_ID, 'partner-2026').status, 200, 'not deleted before confirming');
  await page.getByRole('button', { name: 'Delete client' }).click();
  await page.waitForURL(/\/console\/clients\?deleted=partner-inc$/);
  await page.getByText(`Client ${CLIENT_ID} deleted.`).waitFor();
  assert.equal(await page.locator('table.clients').count(), 0);
  assert.equal(curlToken(server, CLIENT_ID, 'partner-2026').status, 401);
});

test('no page broke its Content-Security-Policy or threw', async () => {
  assert.deepEqual(problems, []);
});
