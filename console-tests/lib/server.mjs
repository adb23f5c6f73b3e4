// A real `certbound serve` for the browser tests, in a temporary directory:
// the PKI made with `certbound pki` itself (a root CA and the server
// certificate, a partner's two self-signed certificates and its issuing CA),
// an expired certificate made with openssl (certbound refuses to make one),
// an admin token file, and a config with a TLS listener for the browser and
// an mTLS listener for curl, both on 127.0.0.1:0.

import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The certbound binary: $CERTBOUND_BIN, else the workspace's debug or release build. */
export function certboundBinary() {
  const candidates = process.env.CERTBOUND_BIN
    ? [process.env.CERTBOUND_BIN]
    : [resolve(here, '../../target/debug/certbound'), resolve(here, '../../target/release/certbound')];
  const found = candidates.find((c) => existsSync(c));
  if (!found) {
    throw new Error(
      `no certbound binary at ${candidates.join(' or ')}: build it with \`cargo build -p certbound\` or set CERTBOUND_BIN`
    );
  }
  return found;
}

function run(cmd, args, cwd) {
  try {
    return execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  } catch (e) {
    throw new Error(`${cmd} ${args.join(' ')} failed:\n${e.stdout}${e.stderr}`);
  }
}

/** A self-signed client certificate that expired in 2021, made with `openssl ca -selfsign`. */
function expiredCertificate(dir) {
  writeFileSync(
    join(dir, 'openssl-ca.cnf'),
    [
      '[ ca ]',
      'default_ca = dated',
      '[ dated ]',
      'database = openssl-index.txt',
      'new_certs_dir = .',
      'serial = openssl-serial',
      'default_md = sha256',
      'policy = any',
      'x509_extensions = client',
      '[ any ]',
      'commonName = supplied',
      'organizationName = optional',
      '[ client ]',
      'basicConstraints = critical,CA:FALSE',
      'keyUsage = critical,digitalSignature',
      'extendedKeyUsage = clientAuth',
      '',
    ].join('\n')
  );
  writeFileSync(join(dir, 'openssl-index.txt'), '');
  writeFileSync(join(dir, 'openssl-serial'), '1000\n');
  run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', 'expired.key', '-subj', '/O=Old Partner/CN=old-partner.example', '-out', 'expired.csr'], dir);
  run('openssl', ['ca', '-config', 'openssl-ca.cnf', '-selfsign', '-keyfile', 'expired.key', '-in', 'expired.csr',
    '-out', 'expired.crt', '-startdate', '20200101000000Z', '-enddate', '20210101000000Z', '-batch', '-notext'], dir);
}

/** Make the files and start the server; resolves once both listeners are up. */
export async function startServer() {
  const bin = certboundBinary();
  const dir = mkdtempSync(join(tmpdir(), 'certbound-console-'));
  run(bin, ['pki', 'init', '--out', 'ca', '--cn', 'Console Test Root CA'], dir);
  run(bin, ['pki', 'issue', 'server', '--ca', 'ca', '--name', 'server', '--dns', 'localhost', '--ip', '127.0.0.1', '--out', '.'], dir);
  run(bin, ['pki', 'self-signed', '--name', 'partner-2025', '--cn', 'partner.example', '--org', 'Partner Inc'], dir);
  run(bin, ['pki', 'self-signed', '--name', 'partner-2026', '--cn', 'partner.example', '--org', 'Partner Inc'], dir);
  run(bin, ['pki', 'init', '--out', 'partner-ca', '--cn', 'Partner Issuing CA', '--org', 'Partner Inc'], dir);
  expiredCertificate(dir);
  const token = randomBytes(24).toString('hex');
  writeFileSync(join(dir, 'admin-token'), token, { mode: 0o600 });
  writeFileSync(
    join(dir, 'certbound.toml'),
    [
      'data_dir = "data"',
      '[issuer]',
      'url = "https://localhost"',
      '[tls.console]',
      'cert = "server.crt"',
      'key = "server.key"',
      '[tls.mtls]',
      'cert = "server.crt"',
      'key = "server.key"',
      'client_auth = "required"',
      '[[listener]]',
      'name = "console"',
      'bind = "127.0.0.1:0"',
      'tls = "console"',
      '[[listener]]',
      'name = "mtls"',
      'bind = "127.0.0.1:0"',
      'tls = "mtls"',
      '[admin]',
      'token_file = "admin-token"',
      '',
    ].join('\n')
  );

  const child = spawn(bin, ['serve', '--config', 'certbound.toml'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const listeners = await new Promise((resolveUp, reject) => {
    const found = {};
    const timer = setTimeout(() => reject(new Error(`certbound serve did not start in 30 s:\n${stdout}${stderr}`)), 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`certbound serve exited with ${code}:\n${stdout}${stderr}`));
    });
    child.stdout.on('data', (d) => {
      stdout += d;
      // "listening: console https://127.0.0.1:40123 (TLS)"
      for (const m of stdout.matchAll(/^listening: (\S+) (https?:\/\/\S+)/gm)) {
        found[m[1]] = m[2];
      }
      if (found.console && found.mtls) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolveUp(found);
      }
    });
  });

  return {
    dir,
    token,
    console: listeners.console,
    mtls: listeners.mtls,
    file: (name) => join(dir, name),
    log: () => stderr,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** POST client_credentials to the token endpoint with curl and a client certificate. */
export function curlToken(server, clientId, name) {
  const args = [
    '--silent', '--show-error',
    '--cert', server.file(`${name}.crt`), '--key', server.file(`${name}.key`), '--cacert', server.file('ca/ca.crt'),
    '-d', 'grant_type=client_credentials', '-d', `client_id=${clientId}`,
    '--write-out', '\n%{http_code}',
    `${server.mtls}/oauth2/token`,
  ];
  const out = run('curl', args);
  const at = out.lastIndexOf('\n');
  return { status: Number(out.slice(at + 1)), body: JSON.parse(out.slice(0, at)) };
}

/**
 * `certbound serve --dev` on OS-picked ports in a temporary directory, as a
 * new user starts it; resolves with the console URL and the one-time
 * sign-in link its banner prints.
 */
export async function startDevServer() {
  const bin = certboundBinary();
  const dir = mkdtempSync(join(tmpdir(), 'certbound-dev-'));
  const child = spawn(bin, ['serve', '--dev', '--tls-port', '0', '--mtls-port', '0'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const banner = await new Promise((resolveUp, reject) => {
    const timer = setTimeout(() => reject(new Error(`certbound serve --dev printed no sign-in link in 60 s:\n${stdout}${stderr}`)), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`certbound serve --dev exited with ${code}:\n${stdout}${stderr}`));
    });
    child.stdout.on('data', (d) => {
      stdout += d;
      // "console: https://127.0.0.1:40123/console" and
      // "  sign in (one-time link, valid 10 minutes): https://…/console/signin/link?code=…"
      const consoleUrl = stdout.match(/^console: (https:\/\/\S+)$/m);
      const link = stdout.match(/^ {2}sign in \(one-time link[^)]*\): (https:\/\/\S+)$/m);
      if (consoleUrl && link) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolveUp({ console: consoleUrl[1], link: link[1] });
      }
    });
  });
  return {
    ...banner,
    dir,
    stdout: () => stdout,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
