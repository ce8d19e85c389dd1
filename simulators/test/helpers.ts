/**
 * Test helpers: a real aedes broker on port 0 that checks fridge credentials (client id =
 * username = fridge id, password = the fridge's secret) and can delay PUBACKs; a recording
 * subscriber; a fake central on port 0. Polling and teardown: `@fridgesync/shared/test-harness`.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';

export interface TestBroker {
  url: string;
  broker: Aedes;
  /** Delay before a publish from a fridge is accepted (and PUBACKed), ms. */
  setPubackDelay(ms: number): void;
  /** Fridge ids that connected with the right secret. */
  authenticated: string[];
  close(): Promise<void>;
}

/** An aedes broker on a free port; `secrets` maps fridge id → password (others are refused). */
export async function startBroker(secrets: Record<string, string> = {}, allowAnonymous = true): Promise<TestBroker> {
  let delay = 0;
  const authenticated: string[] = [];
  const broker = await Aedes.createBroker({
    authenticate: (client, username, password, done) => {
      const expected = username === undefined ? undefined : secrets[username];
      if (expected === undefined) {
        // Test subscribers connect without credentials.
        done(null, allowAnonymous && username === undefined);
        return;
      }
      const ok = client.id === username && password?.toString() === expected;
      if (ok) authenticated.push(username!);
      done(null, ok);
    },
    authorizePublish: (client, _packet, cb) => {
      if (delay > 0 && client) setTimeout(() => cb(null), delay);
      else cb(null);
    },
  });
  const server = createServer(broker.handle as never);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    broker,
    authenticated,
    setPubackDelay: (ms) => {
      delay = ms;
    },
    close: async () => {
      await new Promise<void>((r) => broker.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export interface Received {
  topic: string;
  payload: unknown;
  qos: number;
  retain: boolean;
}

/** A subscriber recording every message under `filter`. */
export async function record(url: string, filter = '#'): Promise<{ client: MqttClient; messages: Received[] }> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0 });
  const messages: Received[] = [];
  client.on('message', (topic, buf, packet) => {
    let payload: unknown;
    try {
      payload = JSON.parse(buf.toString());
    } catch {
      payload = buf.toString();
    }
    messages.push({ topic, payload, qos: packet.qos, retain: packet.retain });
  });
  await client.subscribeAsync(filter, { qos: 1 });
  return { client, messages };
}

/** A minimal HTTP server on port 0 with a JSON handler. */
export async function startHttp(
  handler: (req: IncomingMessage, body: unknown) => { status: number; body?: unknown } | Promise<{ status: number; body?: unknown }>,
): Promise<{ url: string; requests: Array<{ method: string; url: string; body: unknown; auth: string | undefined }>; close(): Promise<void> }> {
  const requests: Array<{ method: string; url: string; body: unknown; auth: string | undefined }> = [];
  const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const body = raw ? (JSON.parse(raw) as unknown) : undefined;
      requests.push({ method: req.method ?? '', url: req.url ?? '', body, auth: req.headers.authorization });
      void Promise.resolve(handler(req, body)).then((r) => {
        res.writeHead(r.status, { 'content-type': 'application/json' });
        res.end(r.body === undefined ? '' : JSON.stringify(r.body));
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
