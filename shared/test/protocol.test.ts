/** The y-websocket codec: every message round-trips; anything outside the grammar is a ProtocolError. */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import * as syncProtocol from 'y-protocols/sync';
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';
import {
  MAX_HANDSHAKE_JSON,
  ProtocolError,
  decodeMessage,
  encodeAuthDenied,
  encodeAwareness,
  encodeDurableAck,
  encodeHello,
  encodeQueryAwareness,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeUpdate,
  encodeWelcome,
} from '@fridgesync/shared';
import { GW1 } from './support/fixtures.ts';

describe('protocol codec', () => {
  it('round-trips every message', () => {
    const d = new Y.Doc();
    d.getArray('a').push([1]);
    const sv = Y.encodeStateVector(d);
    const u = Y.encodeStateAsUpdate(d);
    expect(decodeMessage(encodeSyncStep1(sv))).toEqual({ type: 'sync-step1', stateVector: sv });
    expect(decodeMessage(encodeSyncStep2(u))).toEqual({ type: 'sync-step2', update: u });
    expect(decodeMessage(encodeUpdate(u))).toEqual({ type: 'update', update: u });
    expect(decodeMessage(encodeAwareness(u))).toEqual({ type: 'awareness', update: u });
    expect(decodeMessage(encodeAuthDenied('no'))).toEqual({ type: 'auth-denied', reason: 'no' });
    expect(decodeMessage(encodeQueryAwareness())).toEqual({ type: 'query-awareness' });
    expect(decodeMessage(encodeDurableAck(sv))).toEqual({ type: 'durable-ack', stateVector: sv });
    const hello = { replica: GW1, clientIds: [11], version: '1', joining: true };
    expect(decodeMessage(encodeHello(hello))).toEqual({ type: 'hello', hello });
    const welcome = { venueId: 'v1', instance: 'central:c1', version: '1' };
    expect(decodeMessage(encodeWelcome(welcome))).toEqual({ type: 'welcome', welcome });
    // Each side's wall clock, optional (peers that do not send it still decode).
    const timedHello = { ...hello, now: 1_700_000_000_123 };
    expect(decodeMessage(encodeHello(timedHello))).toEqual({ type: 'hello', hello: timedHello });
    const timedWelcome = { ...welcome, now: 1_700_000_000_456 };
    expect(decodeMessage(encodeWelcome(timedWelcome))).toEqual({ type: 'welcome', welcome: timedWelcome });
    expect(() => decodeMessage(encodeWelcome({ ...welcome, now: -1 }))).toThrow(/welcome/);
  });

  it('ignores keys a later version adds to hello and welcome, within the size bound', () => {
    const app = (sub: number, json: string) => {
      const e = encoding.createEncoder();
      encoding.writeVarUint(e, 100);
      encoding.writeVarUint(e, sub);
      encoding.writeVarString(e, json);
      return encoding.toUint8Array(e);
    };
    expect(decodeMessage(app(1, '{"clientIds":[1],"version":"9","feature":{"x":1}}'))).toEqual({ type: 'hello', hello: { clientIds: [1], version: '9' } });
    expect(decodeMessage(app(2, '{"venueId":"v1","instance":"c1","version":"9","now":5,"later":true}'))).toEqual({ type: 'welcome', welcome: { venueId: 'v1', instance: 'c1', version: '9', now: 5 } });
    const padded = JSON.stringify({ clientIds: [1], version: '9', pad: 'x'.repeat(MAX_HANDSHAKE_JSON) });
    expect(() => decodeMessage(app(1, padded))).toThrow(/hello: longer than/);
  });

  it('speaks y-protocols: a step 1 from y-protocols decodes, our step 2 applies with y-protocols', () => {
    const a = new Y.Doc();
    const b = new Y.Doc();
    a.getArray('x').push(['hello']);
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, 0);
    syncProtocol.writeSyncStep1(e, b);
    const step1 = decodeMessage(encoding.toUint8Array(e));
    expect(step1.type).toBe('sync-step1');
    if (step1.type !== 'sync-step1') return;
    const reply = encodeSyncStep2(Y.encodeStateAsUpdate(a, step1.stateVector));
    const dec = decoding.createDecoder(reply);
    expect(decoding.readVarUint(dec)).toBe(0);
    syncProtocol.readSyncMessage(dec, encoding.createEncoder(), b, 'test');
    expect(b.getArray('x').toJSON()).toEqual(['hello']);
  });

  it('rejects unknown types, truncation, trailing bytes and bad hello JSON', () => {
    const bad = [
      new Uint8Array([]),
      new Uint8Array([9]),
      new Uint8Array([0, 7, 0]),
      encodeSyncStep1(new Uint8Array([1, 2, 3])).slice(0, 3),
      new Uint8Array([...encodeQueryAwareness(), 0]),
      new Uint8Array([100, 9]),
    ];
    for (const b of bad) expect(() => decodeMessage(b)).toThrow(ProtocolError);
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, 100);
    encoding.writeVarUint(e, 1);
    encoding.writeVarString(e, '{"clientIds":"x","version":"1"}');
    expect(() => decodeMessage(encoding.toUint8Array(e))).toThrow(/hello/);
  });
});
