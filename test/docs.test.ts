import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generatedDocs } from '../scripts/gen-docs.ts';

const root = resolve(import.meta.dirname, '..');

describe('generated reference docs', () => {
  for (const [rel, text] of Object.entries(generatedDocs())) {
    it(`${rel} matches the code (regenerate with: npx tsx scripts/gen-docs.ts)`, () => {
      expect(readFileSync(join(root, rel), 'utf8')).toBe(text);
    });
  }
});
