// The web console in a real headless Chromium (Debian's `chromium`), driven by
// playwright-core with the system browser; no browser is downloaded. The
// server is the real `certbound serve`, and tokens are fetched with curl:
// sign in (and, on `serve --dev`, with the one-time link its banner prints); paste a self-signed PEM and see it parsed; paste an expired one and
// see saving blocked; paste a CA without a constraint and see the warning;
// save; get a token; rotate the trust store and see the old certificate
// refused and the new one accepted; delete. Also: PEM quoted from an e-mail,
// the one constraint chooser, the diagnostics above Save at 390 px, the "Try
// it" lines run as shown, a hostile client name rendered inert, about thirty
// audit rows on a 1280x800 screen; a private_key_jwt client registered with
// a JWKS URL and no trust store; works without JavaScript, by keyboard, at
// 320 px, with no CSP violation.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { certboundBinary, curlToken, startDevServer, startServer } from './lib/server.mjs';

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
// The Audit page's picture: CONSOLE_AUDIT_SCREENSHOT=../docs/console-audit.png.
const AUDIT_SCREENSHOT = resolve(
  dirname(fileURLToPath(import.meta.url)),
  process.env.CONSOLE_AUDIT_SCREENSHOT || 'test-results/console-audit.png'
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
/** PEM as an e-mail reply quotes it, with words around it. */
const quoted = (text) =>
  `On Monday, Partner Inc wrote:\n> Here is our new certificate:\n${text.trimEnd().split('\n').map((l) => `> ${l}`).join('\n')}\n>\n> Regards\n`;
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

test('serve --dev: the printed one-time link signs in, once', async () => {
  const dev = await startDevServer();
  // A browser of its own: nothing of the other tests' session carries over.
  const own = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
  try {
    const tab = await own.newPage();
    await tab.goto(dev.link);
    await tab.waitForURL(/\/console\/clients$/);
    assert.equal(await tab.title(), 'Clients — certbound console');
    // The dev PKI's demo client is registered and listed.
    await tab.getByText('demo-client', { exact: true }).first().waitFor();
    const [session] = (await own.cookies()).filter((c) => c.name === '__Secure-certbound-console');
    assert.ok(session?.httpOnly && session.secure, 'a secure session cookie');

    // The link works once: a second browser gets the explanation, not a session.
    const other = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const again = await other.newPage();
      const resp = await again.goto(dev.link);
      assert.equal(resp.status(), 403);
      await again.getByText('This sign-in link was already used or has expired').waitFor();
      assert.equal((await other.cookies()).filter((c) => c.name === '__Secure-certbound-console').length, 0);
      // And the console still asks that browser to sign in.
      await again.goto(`${dev.console}/clients`);
      assert.match(again.url(), /\/console\/signin\?next=/);
    } finally {
      await other.close();
    }
  } finally {
    await own.close();
    await dev.stop();
  }
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
  // One constraint chooser: a type and one value. A constraint silences the warning.
  assert.equal(await page.locator('input[name^="tls_client_auth_"]').count(), 0, 'one input per constraint type');
  const type = page.getByLabel('Constraint type');
  const value = page.getByLabel('Constraint value');
  assert.deepEqual(
    await type.locator('option').allInnerTexts(),
    ['None', 'Subject DN', 'SAN DNS name', 'SAN URI', 'SAN IP address', 'SAN e-mail address']
  );
  await type.selectOption({ label: 'Subject DN' });
  assert.equal(await value.getAttribute('placeholder'), 'CN=partner,O=Example', 'the placeholder follows the type');
  await value.fill('CN=partner.example,O=Partner Inc');
  await statusSays('2 certificates: no errors, no warnings.');
  // A value without a type is not a constraint: the chooser's problem blocks saving.
  await type.selectOption({ label: 'None' });
  await statusSays('saving is blocked');
  assert.match(await page.locator('#diagnostics-body').innerText(), /Subject constraint: a constraint value is set without its type/);
  await value.fill('');
  await statusSays('2 certificates: no errors, 1 warning.');
});

test('the diagnostics sit beside the trust store, and above Save on a phone', async () => {
  const box = async (locator) => (await locator.boundingBox()) ?? assert.fail('not rendered');
  const diagnostics = page.locator('section.diagnostics');
  const save = page.getByRole('button', { name: 'Save client' });
  const wide = [await box(trustStore()), await box(diagnostics)];
  assert.ok(wide[1].x >= wide[0].x + wide[0].width, 'beside the PEM field at 1360 px');
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    const [field, panel, button] = [await box(trustStore()), await box(diagnostics), await box(save)];
    assert.ok(panel.y >= field.y + field.height, `below the PEM field at 390 px: ${JSON.stringify({ field, panel })}`);
    assert.ok(panel.y + panel.height <= button.y, `above Save at 390 px: ${JSON.stringify({ panel, button })}`);
    assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= 390);
  } finally {
    await page.setViewportSize({ width: 1360, height: 900 });
  }
});

test('PEM quoted from an e-mail reply is read as sent', async () => {
  await trustStore().fill(quoted(pem('partner-2025.crt')));
  await statusSays('1 certificate: no errors, no warnings.');
  assert.match(await page.locator('#cert-1 h3').innerText(), /Certificate 1: partner\.example/);
});

test('saving registers the client, and curl gets a token with its certificate', async () => {
  // Saved as pasted from the e-mail.
  await trustStore().fill(quoted(pem('partner-2025.crt')));
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

/** A "Try it" line with its placeholders replaced by the test's files. */
function filled(line) {
  return line
    .replace('CLIENT.crt', server.file('partner-2025.crt'))
    .replace('CLIENT.key', server.file('partner-2025.key'))
    .replace('SERVER-CA.crt', server.file('ca/ca.crt'));
}

test('after saving, the "Try it" lines get a token as shown', async () => {
  assert.equal(await page.locator('#try-it').getAttribute('open'), '', 'open after saving');
  const curl = (await page.locator('#try-curl').innerText()).trim();
  assert.equal(
    curl,
    `curl --cert CLIENT.crt --key CLIENT.key --cacert SERVER-CA.crt -d grant_type=client_credentials -d client_id=${CLIENT_ID} ${server.mtls}/oauth2/token`
  );
  // Run as shown (through a shell), only the files filled in.
  const out = execFileSync('sh', ['-c', `${filled(curl)} --silent --show-error`]).toString();
  const reply = JSON.parse(out);
  assert.equal(reply.token_type, 'Bearer', out);
  assert.ok(reply.access_token, out);

  const token = (await page.locator('#try-token').innerText()).trim();
  assert.match(token, /^certbound token --token-url \S+ --client-id partner-inc /);
  const summary = execFileSync('sh', ['-c', filled(token).replace(/^certbound /, `'${certboundBinary()}' `)]).toString();
  assert.match(summary, /x5t#S256/, summary);
});

test('a hostile client name is shown as text and never runs', async () => {
  const hostile = `</title><script>window.pwned=1</script><img src=x onerror="window.pwned=2">"'&amp;`;
  await page.goto(url('/console/clients/new'));
  await page.getByLabel('Name', { exact: true }).fill(hostile);
  await page.getByLabel('Client id (optional)').fill('hostile');
  await trustStore().fill(pem('partner-2026.crt'));
  await statusSays('1 certificate: no errors, no warnings.');
  await page.getByRole('button', { name: 'Save client' }).click();
  await page.waitForURL(/\/console\/clients\/hostile\?saved=created$/);
  for (const path of ['/console/clients/hostile', '/console/clients', `/console/clients?q=${encodeURIComponent('<script>')}`, '/console/clients/hostile/delete']) {
    await page.goto(url(path));
    assert.equal(await page.evaluate(() => window.pwned), undefined, `${path}: the name ran`);
    assert.equal(await page.locator('main script, main img').count(), 0, `${path}: the name became markup`);
    assert.equal(await page.locator('script').count(), 1, `${path}: only the console's script`);
    if (!path.includes('?q=')) {
      assert.ok((await page.locator('main').innerText()).includes(hostile), `${path} does not show the name as text`);
    }
  }
  assert.equal(await page.title(), `Delete client ${hostile}? — certbound console`);
  await page.getByRole('button', { name: 'Delete client' }).click();
  await page.waitForURL(/\/console\/clients\?deleted=hostile$/);
});

test('rotating the trust store refuses the old certificate and accepts the new one', async () => {
  await page.goto(url(`/console/clients/${CLIENT_ID}`));
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

test('the audit table shows about thirty events on a 1280x800 screen', async () => {
  // Enough events to fill the screen: refusals of unknown clients.
  for (let i = 0; i < 40; i++) {
    assert.equal(curlToken(server, `nobody-${i}`, 'partner-2026').status, 401);
  }
  await page.setViewportSize({ width: 1280, height: 800 });
  try {
    await page.goto(url('/console/audit'));
    // The audit writer flushes in the background: wait until the page holds them all.
    for (let tries = 0; (await page.locator('table.audit tbody tr').count()) < 40; tries++) {
      assert.ok(tries < 50, 'the refusals did not reach the audit trail');
      await page.waitForTimeout(100);
      await page.reload();
    }
    const measured = await page.evaluate(() => {
      const rows = [...document.querySelectorAll('table.audit tbody tr')];
      const heights = rows.map((r) => r.getBoundingClientRect().height);
      return {
        visible: rows.filter((r) => r.getBoundingClientRect().bottom <= window.innerHeight).length,
        perScreen: Math.floor(window.innerHeight / Math.max(...heights)),
        width: document.documentElement.scrollWidth,
      };
    });
    console.log(`audit at 1280x800: ${JSON.stringify(measured)}`);
    assert.ok(measured.visible >= 28, `only ${measured.visible} rows in the first screen`);
    assert.ok(measured.perScreen >= 30, `only ${measured.perScreen} rows fit a screen`);
    assert.ok(measured.width <= 1280, `the page is ${measured.width} px wide`);
    mkdirSync(dirname(AUDIT_SCREENSHOT), { recursive: true });
    await page.screenshot({ path: AUDIT_SCREENSHOT });
    const row = page.locator('table.audit tbody tr').first();
    assert.match(await row.locator('td[data-label="Time"]').innerText(), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    assert.match(await row.locator('td[data-label="Reason"]').innerText(), /\S/);
    // The filters are kept.
    await page.getByLabel('Kind').selectOption('token');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/kind=token/);
    assert.equal(await page.getByLabel('Kind').inputValue(), 'token');
  } finally {
    await page.setViewportSize({ width: 1360, height: 900 });
  }
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

test('a private_key_jwt client is registered with its keys, no trust store', async () => {
  await page.goto(url('/console/clients/new'));
  await page.getByLabel('Name', { exact: true }).fill('SMART backend');
  await page.getByLabel('Client id (optional)').fill('smart-backend');
  // Keys that are not JSON: the live check says so, and a save is refused beside the field.
  const jwks = page.getByLabel('JWKS (JSON)');
  await jwks.fill('{"keys": [');
  await statusSays('saving is blocked');
  await page.getByRole('button', { name: 'Save client' }).click();
  await page.locator('#error-summary').waitFor();
  assert.match(await page.locator('#f-jwks-error').innerText(), /is not JSON/);
  assert.match(await page.getByLabel('JWKS (JSON)').getAttribute('aria-describedby'), /f-jwks-error/);
  // A JWKS URL instead: nothing else is needed.
  await page.getByLabel('JWKS (JSON)').fill('');
  await page.getByLabel('JWKS URL').fill('https://smart.example/.well-known/jwks.json');
  await statusSays('the client authenticates with its keys (private_key_jwt)');
  await page.getByLabel('Bound tokens only').check();
  await page.getByRole('button', { name: 'Save client' }).click();
  await page.waitForURL(/\/console\/clients\/smart-backend\?saved=created$/);
  assert.equal(await page.getByLabel('JWKS URL').inputValue(), 'https://smart.example/.well-known/jwks.json');
  assert.ok(await page.getByLabel('Bound tokens only').isChecked());
  await page.goto(url('/console/clients'));
  await page.getByRole('cell', { name: 'private_key_jwt' }).waitFor();
});

test('no page broke its Content-Security-Policy or threw', async () => {
  assert.deepEqual(problems, []);
});
