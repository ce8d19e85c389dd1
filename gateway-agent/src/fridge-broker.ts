/**
 * The broker port: how fridge messages reach the ingest path and how commands reach fridges, and
 * everything the agent asks of a broker. Two implementations share the topic contract and the
 * ingest path (ingest.ts): the embedded aedes broker (embedded-broker.ts) and a client of an
 * external broker such as Mosquitto (external-broker.ts). Both pass one contract suite
 * (gateway-agent/test/helpers/fridge-broker-contract.ts).
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
  /**
   * Follows the replica (local-replica.ts): while it cannot write, no fridge message is taken in
   * (nothing is acknowledged that could not be stored); once it can again, messages flow. Embedded:
   * fridges are disconnected and their connects refused until then. External: the agent leaves
   * the broker, whose persistent session keeps the fridges' messages, and comes back.
   */
  writableChanged(writable: boolean): void;
  /** The TCP port fridges connect to on this process (useful with port 0); `undefined` when they connect elsewhere (external). */
  readonly port: number | undefined;
  status(): BrokerStatus;
  /** Stops taking new messages, waits (bounded) for in-flight ingests, closes connections. */
  close(): Promise<void>;
}
