/**
 * Starts a real Mosquitto for a test from the shipped deploy/mosquitto files (same ACL, same
 * settings; only the port, paths and persistence location are the test's). Returns `undefined`
 * when the binary is missing, after printing which Debian package to install.
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { userInfo } from 'node:os';
import { freePort } from './agent.ts';
import { eventually } from '@fridgesync/shared/test-harness';

const DEPLOY = resolve(import.meta.dirname, '../../../deploy/mosquitto');
const CANDIDATES = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto', '/usr/local/bin/mosquitto'];

/** Path of the mosquitto binary, if installed. */
export function mosquittoBinary(): string | undefined {
  return CANDIDATES.find((p) => existsSync(p));
}

/** Loud skip message. */
export const MOSQUITTO_MISSING = 'SKIPPED: mosquitto is not installed — install the Debian package `mosquitto` (apt-get install -y mosquitto); CI (.ci/run) installs it';

/** Starts mosquitto with users `name → password`; stops it on teardown. */
export async function startMosquitto(dir: string, users: Record<string, string>, defer: (fn: () => unknown) => void): Promise<{ port: number }> {
  const bin = mosquittoBinary()!;
  const passwd = join(dir, 'fridgesync.passwd');
  writeFileSync(passwd, '');
  for (const [u, p] of Object.entries(users)) execFileSync('mosquitto_passwd', ['-b', passwd, u, p]);
  const port = await freePort();
  const conf = readFileSync(join(DEPLOY, 'mosquitto.conf'), 'utf8')
    .replace(/^listener 1883$/m, `listener ${port} 127.0.0.1`)
    .replace(/^password_file .*$/m, `password_file ${passwd}`)
    .replace(/^acl_file .*$/m, `acl_file ${join(DEPLOY, 'fridgesync.acl')}`)
    .replace(/^persistence_location .*$/m, `persistence_location ${dir}/`)
    // Run as the test's user (as root, mosquitto would switch to `mosquitto`, who cannot read the temp dir).
    .concat(`\nuser ${userInfo().username}\n`);
  const confFile = join(dir, 'mosquitto.conf');
  writeFileSync(confFile, conf);
  let log = '';
  const child = spawn(bin, ['-c', confFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  defer(
    () =>
      new Promise<void>((r) => {
        if (child.exitCode !== null) return r();
        child.once('exit', () => r());
        child.kill('SIGTERM');
      }),
  );
  const net = await import('node:net');
  await eventually(
    () =>
      new Promise<boolean>((res, rej) => {
        if (child.exitCode !== null) return rej(new Error(`mosquitto exited: ${log}`));
        const s = net.connect(port, '127.0.0.1', () => {
          s.destroy();
          res(true);
        });
        s.on('error', () => rej(new Error('not yet')));
      }),
    10_000,
  );
  return { port };
}
