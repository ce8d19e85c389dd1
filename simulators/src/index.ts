/**
 * `@fridgesync/simulators`: the fleet simulator as a library, for the demo and the benchmarks.
 * `createFleet` runs simulated fridges (MQTT), customers and a kitchen (HTTP) against a running
 * system; `generateFleet`/`loadFleetFile` describe the fleet; the CLI lives in `./main`.
 */
export { createFleet, type Fleet, type FleetOptions } from './fleet.ts';
export {
  FLEET_FILE_VERSION, FleetFileSchema, FleetFileError, deriveFridgeSecret, fleetFridges, findFridge, generateFleet,
  loadFleetFile, parseFleet, type FleetFridge, type FleetMeal, type FleetSpec, type FleetVenue, type GenerateFleetOptions,
} from './fleet-spec.ts';
export { FridgeClient, type FridgeClientOptions, type WireFaults } from './fridge-client.ts';
export { FridgeModel, type FridgeModelOptions, type Items } from './fridge-model.ts';
export { SimFridge, type SimFridgeOptions } from './sim-fridge.ts';
export { InflightWindow } from './inflight-window.ts';
export { HttpApi, type HttpApiOptions, type OrderOutcome } from './http-api.ts';
export { OrderBook, type OrderRecord, type OrderState } from './order-book.ts';
export { OversellCheck, type OversellViolation } from './oversell-check.ts';
export { awaitCatalogConvergence, compareCatalog, extractCatalogStock, type CatalogCheckResult, type CatalogMismatch } from './catalog-check.ts';
export { commandFaultHooks, parseFaults, NO_FAULTS, type FaultHooks, type FaultSettings } from './faults.ts';
export { parseDuration, parseKitchenSchedule, type KitchenSchedule } from './schedule.ts';
export { Prng, hash32 } from './prng.ts';
export { RunStats, LatencyHistogram, type LatencySummary } from './stats.ts';
export { buildReport, formatSummary, type FleetReport } from './report.ts';
export { startProgress, statusLine, type ProgressOptions } from './progress.ts';
export { type Fate } from './customers.ts';
export { runSnapshotLoad, type SnapshotLoadOptions, type SnapshotLoadResult } from './snapshot-load.ts';
