import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeDurableAck, encodeHello, encodeWelcome, type ReplicaId } from '@fridgesync/shared';
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

describe('docs/sync-protocol.md wire format', () => {
  const doc = readFileSync(join(root, 'docs/sync-protocol.md'), 'utf8');
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex').replace(/(..)(?!$)/g, '$1 ');
  const examples: Array<[string, Uint8Array]> = [
    ['hello', encodeHello({ replica: 'gw:g1:2' as ReplicaId, clientIds: [300], version: '0.1.0' })],
    ['welcome', encodeWelcome({ venueId: 'v1', instance: 'c1', version: '0.1.0' })],
    ['durable-ack', encodeDurableAck(new Uint8Array([0x01, 0xac, 0x02, 0x03]))],
  ];
  for (const [name, bytes] of examples) {
    it(`shows the bytes the codec writes for ${name}, and they decode back`, () => {
      expect(doc).toContain('`' + hex(bytes) + '`');
      expect(decodeMessage(bytes).type).toBe(name);
    });
  }
});
