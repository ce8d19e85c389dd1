/**
 * `@fridgesync/shared`: the pure domain of fridgesync. Ids and schemas, the venue document and its
 * folds, the bounded counter, orders, reconciliation, replica lifecycle, the update validator and
 * the y-websocket codec. No I/O; imports nothing of ours.
 */
export * from './ids.ts';
export * from './errors.ts';
export * from './error-responses.ts';
export * from './api-doc-page.ts';
export * from './mqtt-payloads.ts';
export * from './http-schemas.ts';
export * from './hlc.ts';
export * from './config-records.ts';
export * from './entries.ts';
export * from './origins.ts';
export * from './venue-index.ts';
export * from './venue-doc.ts';
export * from './fold.ts';
export * from './counter.ts';
export * from './orders.ts';
export * from './order-taker.ts';
export * from './observe.ts';
export * from './reconcile.ts';
export * from './lifecycle.ts';
export * from './validator.ts';
export * from './protocol.ts';
export * from './config-loader.ts';
export * from './data-dir.ts';
export * from './crash-point.ts';
export * from './signals.ts';
export * from './command-line.ts';
export * from './windowed-counts.ts';
export * from './dirty-scheduler.ts';
export * from './loopback.ts';
export * from './views/index.ts';
