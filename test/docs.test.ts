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

describe('example configs', () => {
  it('tell users to run the fridgesync command, not a source file', () => {
    for (const rel of ['central.example.yaml', 'gateway.example.yaml', 'server/README.md', 'gateway-agent/README.md']) {
      const text = readFileSync(join(root, rel), 'utf8');
      expect(text, rel).not.toMatch(/npx tsx \S*src\/main\.ts/);
    }
    expect(readFileSync(join(root, 'central.example.yaml'), 'utf8')).toMatch(/fridgesync central config check --config central\.example\.yaml/);
  });
});
