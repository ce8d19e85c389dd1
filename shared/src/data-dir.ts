/**
 * Whether a data directory can take synced writes. A store that fails to open in a directory that
 * cannot be written is not damaged: reporting it as corrupt would send an operator to `repair`,
 * which moves an intact store aside and with it every write central has not received yet
 * (docs/operations.md "Durability and recovery"). Both processes ask this before they call a
 * failed open anything else.
 */
import { accessSync, closeSync, constants, fsyncSync, mkdirSync, openSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Error codes that mean "this process cannot write here" rather than "the data is bad". */
const UNWRITABLE: Record<string, string> = {
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
};

const reason = (e: unknown, what: string): string | undefined => {
  const code = (e as NodeJS.ErrnoException).code;
  const text = code === undefined ? undefined : UNWRITABLE[code];
  return text === undefined ? undefined : `${text} (${code}) ${what}`;
};

/** The nearest ancestor of `dir` that exists (`dir` itself when it does). */
function nearestExisting(dir: string): string {
  let d = dir;
  for (;;) {
    try {
      statSync(d);
      return d;
    } catch {
      const up = dirname(d);
      if (up === d) return d;
      d = up;
    }
  }
}

/**
 * Writes, fsyncs and removes a probe file in the existing directory `dir`; throws the file
 * system's error when it cannot.
 */
export function probeSyncedWrite(dir: string): void {
  const probe = join(dir, `.write-probe-${process.pid}`);
  const fd = openSync(probe, 'w');
  try {
    writeSync(fd, 'probe');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
    rmSync(probe, { force: true });
  }
}

/**
 * Why `dir` cannot take a synced write by this process — a read-only file system, or no
 * permission on the directory or on a file in it — or `undefined` when it can (or when the failure
 * is of another kind, which the caller reports as it is). Creates the directory if it is missing,
 * and a probe file that it removes again; changes nothing else.
 */
export function whyNotWritable(dir: string): string | undefined {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    // A recursive mkdir under a read-only mount reports ENOENT: ask the nearest existing parent.
    const parent = nearestExisting(dir);
    try {
      accessSync(parent, constants.W_OK);
    } catch (e2) {
      return reason(e2, `creating ${dir} in ${parent}`);
    }
    return reason(e, `creating ${dir}`);
  }
  try {
    probeSyncedWrite(dir);
  } catch (e) {
    return reason(e, `writing in ${dir}`);
  }
  // The directory takes new files, but the store's own files may belong to another user.
  for (const name of readdirSync(dir)) {
    const file = join(dir, name);
    try {
      if (statSync(file).isFile()) accessSync(file, constants.W_OK);
    } catch (e) {
      const r = reason(e, `writing ${file}`);
      if (r !== undefined) return r;
    }
  }
  return undefined;
}
