/** Central's software version, read once from this package's `package.json`. */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * The version central reports: written into its `meta` entry of each venue document, sent in the
 * sync handshake, shown by `--version` and in the OpenAPI document.
 */
export const CENTRAL_VERSION: string = z
  .object({ version: z.string().min(1) })
  .parse(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))).version;
