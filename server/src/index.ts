/** `@fridgesync/server`: the central server. `buildApp` for tests and embedding, `main` for the CLI. */
export { buildApp, type Central, type CentralDeps } from './app.ts';
export { CentralConfigSchema, type CentralConfig, type CentralConfigInput, type TokenEntry, type Role } from './config-schema.ts';
export { hashToken } from './auth.ts';
export type { DocStorage, StoredVenue } from './storage/storage-port.ts';
export { createLevelStorage } from './storage/level-storage.ts';
export { createMemoryStorage } from './storage/memory-storage.ts';
export type { DomainEventLog, DomainFact, LoggedEvent, ClaimedEvent, GroupLimits, Retention } from './event-log/event-log-port.ts';
export { createLevelEventLog, type LevelLike } from './event-log/level-event-log.ts';
export { factId } from './event-log/fact-ids.ts';
