import { describe, expect, it } from 'vitest';
import { CLOSE_CODES } from '@fridgesync/shared';
import { closeVerdict, isRefusal, retiredBySuccessor, type CloseContext } from '../src/central-refusal.ts';

const ctx: CloseContext = { gatewayId: 'g1', replica: 'gw:g1:2', writable: true, legacyCentral: false, joinedFirst: false };

describe('closeVerdict', () => {
  it('rebuilds for validator codes that say the store contradicts central, and only those', () => {
    for (const code of ['NOT_FORWARD', 'FOREIGN_DELETE', 'MISSING_DEPENDENCY', 'RIGHTS_NEGATIVE']) {
      expect(closeVerdict(CLOSE_CODES.UPDATE_REJECTED, `${code}: detail`, ctx)).toEqual({ kind: 'refused', rebuild: true });
    }
    expect(closeVerdict(CLOSE_CODES.UPDATE_REJECTED, 'NOT_PERMITTED: central only', ctx)).toEqual({ kind: 'refused', rebuild: false });
    expect(closeVerdict(CLOSE_CODES.UPDATE_REJECTED, 'malformed message', ctx)).toEqual({ kind: 'refused', rebuild: false });
    // A store that cannot write has nothing to rebuild.
    expect(closeVerdict(CLOSE_CODES.UPDATE_REJECTED, 'NOT_FORWARD: x', { ...ctx, writable: false })).toEqual({ kind: 'refused', rebuild: false });
  });

  it('answers a first 4411 by joining first, and a 4411 after joining first as a refusal', () => {
    expect(closeVerdict(CLOSE_CODES.EPOCH_NOT_ALLOCATED, 'epoch 2 …', ctx)).toEqual({ kind: 'join-first' });
    expect(closeVerdict(CLOSE_CODES.EPOCH_NOT_ALLOCATED, 'epoch 2 …', { ...ctx, joinedFirst: true })).toEqual({ kind: 'refused', rebuild: false });
  });

  it('speaks without the hello clock to a central that refuses it, once', () => {
    const reason = 'hello: Unrecognized key: "now"';
    expect(closeVerdict(CLOSE_CODES.UPDATE_REJECTED, reason, ctx)).toEqual({ kind: 'legacy-hello' });
    expect(closeVerdict(CLOSE_CODES.UPDATE_REJECTED, reason, { ...ctx, legacyCentral: true })).toEqual({ kind: 'refused', rebuild: false });
  });

  it('names a later epoch of this gateway that retired the replica; a self-retirement names none', () => {
    expect(closeVerdict(CLOSE_CODES.REPLICA_RETIRED, 'gw:g1:2 is retired by gw:g1:3', ctx)).toEqual({ kind: 'retired', successor: 'gw:g1:3' });
    expect(closeVerdict(CLOSE_CODES.REPLICA_RETIRED, 'gw:g1:2 is retired by gw:g1:2, central:c1', ctx)).toEqual({ kind: 'retired', successor: undefined });
    expect(retiredBySuccessor('gw:g1:2 is retired by gw:g10:1', 'g1', 'gw:g1:2')).toBeUndefined();
  });

  it('treats the refusing codes as refusals and everything else as a close to retry', () => {
    for (const code of [CLOSE_CODES.UNAUTHORIZED, CLOSE_CODES.DUPLICATE_REPLICA, CLOSE_CODES.GATEWAY_CONNECTED]) expect(closeVerdict(code, '', ctx)).toEqual({ kind: 'refused', rebuild: false });
    for (const code of [1000, 1001, 1006, CLOSE_CODES.SLOW_CONSUMER, CLOSE_CODES.HANDSHAKE_TIMEOUT, CLOSE_CODES.LOAD_FAILED]) expect(closeVerdict(code, '', ctx)).toEqual({ kind: 'closed' });
    expect(isRefusal({ status: 403 })).toBe(true);
    expect(isRefusal({ status: 503 })).toBe(false);
  });
});
