/** The read-side views central serves over REST and the live feed (README "Contracts"). */
export * from './fridge.ts';
export * from './order.ts';
export * from './venue.ts';
export * from './catalog.ts';
export * from './events.ts';
export * from './event-log.ts';
