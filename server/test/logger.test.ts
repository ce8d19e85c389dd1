import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { centralLogger, redactToken } from '../src/logger.ts';

describe('central logger', () => {
  it('never writes query tokens', () => {
    expect(redactToken('/sync/v1?token=abc&x=1')).toBe('/sync/v1?token=[redacted]&x=1');
    expect(redactToken('/v1/events?venueId=v1&token=s3cret')).toBe('/v1/events?venueId=v1&token=[redacted]');
    let out = '';
    const sink = new Writable({ write: (c, _e, cb) => ((out += c.toString()), cb()) });
    const log = centralLogger('info', pino({ level: 'info' }, sink));
    log.info({ req: { method: 'GET', url: '/v1/venues?token=s3cret', ip: '127.0.0.1' } }, 'incoming request');
    expect(out).toContain('[redacted]');
    expect(out).not.toContain('s3cret');
  });
});
