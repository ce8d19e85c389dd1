import { describe, expect, it } from 'vitest';
import type { VenueLiveEvent } from '@fridgesync/shared';
import { EventHub } from '../src/event-hub.ts';

/** A `venue` event of venue `v<i>` (the hub does not look inside events). */
const venueEvent = (i: number): VenueLiveEvent => ({ type: 'venue', venueId: `v${i}`, venue: null });

describe('EventHub', () => {
  it('numbers events, resumes within the window, refuses gaps and foreign boots', () => {
    let now = 1000;
    const hub = new EventHub({ retainEvents: 3, retainMs: 100, now: () => now });
    const seen: string[] = [];
    const off = hub.subscribe((e) => seen.push(e.id));
    const ids = [1, 2, 3, 4].map((i) => hub.publish(venueEvent(i)).id);
    expect(seen).toEqual(ids);
    off();
    expect(hub.since(ids[0]!)).toEqual({ ok: true, events: expect.arrayContaining([expect.objectContaining({ id: ids[1] })]) });
    expect(hub.since(ids[3]!)).toEqual({ ok: true, events: [] });
    expect(hub.since(`${hub.boot}-0`)).toEqual({ ok: false }); // event 1 is gone: a gap
    expect(hub.since('abcd-2')).toEqual({ ok: false });
    expect(hub.since(`${hub.boot}-99`)).toEqual({ ok: false });
    now += 1000;
    hub.publish(venueEvent(5));
    expect(hub.since(ids[2]!)).toEqual({ ok: false }); // aged out
  });
});
