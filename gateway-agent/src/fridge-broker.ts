/**
 * The broker port: how fridge messages reach the ingest path and how commands reach fridges.
 * Two implementations share the topic contract and the {@link Ingestor}: the embedded aedes broker
 * (embedded-broker.ts) and a client of an external broker such as Mosquitto (external-broker.ts).
 */
import type { CommandPayload, FridgeId } from '@fridgesync/shared';

/** What `/status` shows about the broker. */
export interface BrokerStatus {
  mode: 'embedded' | 'external';
  /** Listening (embedded) or connected to the broker (external). */
  up: boolean;
  /** Embedded: the TCP address fridges connect to. External: the broker URL. */
  address: string | undefined;
  /** Fridges connected right now (embedded only; an external broker does not tell). */
  fridgesConnected: number | undefined;
  /** Messages being ingested (received, not yet acknowledged). */
  inFlight: number;
}

/** A source of fridge messages. */
export interface FridgeBroker {
  /** Starts listening or connecting. */
  start(): Promise<void>;
  /** Sends a command to a fridge (QoS 1). */
  sendCommand(fridge: FridgeId, command: CommandPayload): Promise<void>;
  /** Whether the fridge is connected right now; `undefined` when the broker does not tell (external). */
  fridgeConnected(fridge: FridgeId): boolean | undefined;
  status(): BrokerStatus;
  /** Stops taking new messages, waits (bounded) for in-flight ingests, closes connections. */
  close(): Promise<void>;
}
