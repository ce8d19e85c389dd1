/**
 * External broker mode: the agent is an MQTT 3.1.1 client of a broker
 * such as Mosquitto (clean session off, QoS 1 subscription to `{prefix}fridges/+/{kind}`), feeding
 * the same {@link Ingestor} as the embedded broker. The broker enforces the per-fridge ACL (see
 * deploy/mosquitto/); the agent still checks the topic grammar, and the fridge id comes from the
 * topic (`clientId` undefined: the broker's `pattern … fridges/%c/#` rule bound it to the sender).
 *
 * Holding the PUBACK until the effect is durable: mqtt.js honours `customHandleAcks` only for
 * MQTT 5, so for 3.1.1 we override `client.handleMessage(packet, done)`, which mqtt.js calls before
 * it writes the PUBACK. mqtt.js handles one incoming packet at a time per connection, the next one
 * only after `done`, so waiting there for the synced write would cost one fsync per message.
 * Instead every connection mqtt.js opens is wrapped in an {@link MqttConnection}: the handler
 * starts the ingest, gates the connection's output on its durable write and calls `done` at once;
 * mqtt.js writes the PUBACK, which leaves only once the write is durable (and never if it fails:
 * the connection is then destroyed). Messages arriving together share fsyncs (group commit), as
 * in embedded mode. Because the session is persistent (clean false) and QoS 1, a message the agent
 * did not acknowledge before a crash or a failed write is redelivered by the broker.
 */
import type { Duplex } from 'node:stream';
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { fridgeTopic, type CommandPayload, type FridgeId } from '@fridgesync/shared';
import type { BrokerStatus, FridgeBroker } from './fridge-broker.ts';
import type { Ingestor } from './ingest.ts';
import type { AgentMetrics } from './metrics.ts';
import { MqttConnection } from './mqtt-connection.ts';
import type { GatewayConfig } from './config-schema.ts';

/** Options of {@link ExternalBroker}. */
export interface ExternalBrokerOptions {
  config: GatewayConfig['mqtt'];
  gatewayId: string;
  ingestor: Ingestor;
  logger: Logger;
  metrics: AgentMetrics;
  writable: () => boolean;
}

/** Inbound topic kinds the agent subscribes to. */
const INBOUND = ['inventory', 'pickup', 'status', 'telemetry'] as const;

/** The external-broker client. */
export class ExternalBroker implements FridgeBroker {
  private client: MqttClient | undefined;
  private inFlight = 0;
  private connected = false;
  /** True while the agent left the broker because the replica could not write. */
  private left = false;

  constructor(private readonly opts: ExternalBrokerOptions) {}

  async start(): Promise<void> {
    const { config, logger, gatewayId } = this.opts;
    const ext = config.external;
    const opts: mqtt.IClientOptions = {
      protocolVersion: 4,
      clean: false,
      clientId: ext.clientId ?? `gw-${gatewayId}`,
      reconnectPeriod: ext.reconnectMs,
      connectTimeout: 10_000,
      // Do not subscribe or ingest until the replica can write: connect manually below.
      manualConnect: true,
    };
    if (ext.username !== undefined) opts.username = ext.username;
    if (ext.password !== undefined) opts.password = ext.password;
    const client = mqtt.connect(ext.url!, opts);
    this.client = client;
    // Every stream mqtt.js opens (first connect and reconnects) goes through an MqttConnection.
    // `streamBuilder` is not in mqtt.js' public types; a test against Mosquitto covers it.
    const internals = client as unknown as { streamBuilder: (c: MqttClient, o?: mqtt.IClientOptions) => Duplex };
    const build = internals.streamBuilder;
    // Packet sizes are the broker's to bound (deploy/mosquitto: max_packet_size); refusing one
    // here would only have the broker redeliver it forever.
    internals.streamBuilder = (c, o) => new MqttConnection(build(c, o), Infinity, () => undefined);
    client.handleMessage = (packet: IPublishPacket, done: (err?: Error) => void) => {
      const durable = this.handle(packet);
      const fail = (e: unknown) => {
        // Not durable: no PUBACK; the connection is dropped and the broker redelivers after reconnect.
        logger.error({ err: e, topic: packet.topic }, 'ingest failed; not acknowledging, reconnecting');
      };
      // The stream mqtt.js writes this packet's PUBACK to.
      const stream = client.stream as unknown;
      if (stream instanceof MqttConnection) {
        durable.catch(fail);
        stream.holdOutputUntil(durable); // destroys the connection if the write fails
        done();
      } else {
        durable.then(
          () => done(),
          (e: unknown) => {
            fail(e);
            client.stream.destroy();
          },
        );
      }
    };
    client.on('connect', (ack) => {
      this.connected = true;
      logger.info({ sessionPresent: ack.sessionPresent }, 'connected to external MQTT broker');
      const topics = INBOUND.map((k) => `${config.topicPrefix}fridges/+/${k}`);
      client.subscribe(topics, { qos: 1 }, (err, granted) => {
        if (err) logger.error({ err }, 'subscribe failed');
        for (const g of granted ?? []) if (g.qos === 128) logger.error({ topic: g.topic }, 'the broker refused a subscription (check its ACL for the gateway user)');
      });
    });
    client.on('close', () => (this.connected = false));
    client.on('error', (e) => logger.warn({ err: e.message }, 'external MQTT broker error'));
    const connect = () => {
      if (this.opts.writable()) client.connect();
      else setTimeout(connect, 200).unref();
    };
    connect();
  }

  private async handle(packet: IPublishPacket): Promise<void> {
    if (!this.opts.writable()) throw new Error('replica not writable');
    this.inFlight++;
    try {
      const topic = packet.topic;
      await this.opts.ingestor.ingest(undefined, topic, packet.payload as Buffer);
    } finally {
      this.inFlight--;
    }
  }

  /**
   * Follows the replica: while it cannot write the agent leaves the broker (its persistent session
   * keeps the fridges' messages), and comes back when it can.
   */
  writableChanged(writable: boolean): void {
    const client = this.client;
    if (client === undefined) return;
    if (!writable && !this.left) {
      this.left = true;
      this.opts.logger.warn('replica not writable: leaving the broker until it is');
      void client.endAsync(true).catch(() => undefined);
    } else if (writable && this.left) {
      this.left = false;
      client.reconnect();
    }
  }

  async sendCommand(fridge: FridgeId, command: CommandPayload): Promise<void> {
    const client = this.client;
    if (client === undefined) throw new Error('not started');
    await client.publishAsync(fridgeTopic(this.opts.config.topicPrefix, fridge, 'commands'), JSON.stringify(command), { qos: 1 });
  }

  /** Fridges connect to the external broker, not to this process. */
  readonly port = undefined;

  fridgeConnected(): undefined {
    return undefined; // an external broker does not tell its clients who is connected
  }

  status(): BrokerStatus {
    return { mode: 'external', up: this.connected, address: this.opts.config.external.url, fridgesConnected: undefined, inFlight: this.inFlight };
  }

  async close(): Promise<void> {
    const client = this.client;
    if (client === undefined) return;
    // Not forced: mqtt.js finishes in-flight acks before it disconnects.
    await client.endAsync(false).catch(() => undefined);
  }
}
