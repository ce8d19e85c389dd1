/**
 * Hostile MQTT peers for tests and the auth-flood measurement: raw TCP sockets from chosen
 * loopback source addresses (127.0.0.x), sending a hand-encoded MQTT 3.1.1 CONNECT or nothing at
 * all, and a real mqtt.js client bound to a chosen source address.
 */
import { connect, type Socket } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';

function utf8Field(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

/** Remaining-length varint (MQTT 3.1.1 §2.2.3). */
export function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

/** A CONNECT packet (MQTT 3.1.1, clean session, keepalive 60 s) with username and password. */
export function connectPacket(clientId: string, username: string, password: string): Buffer {
  const variable = Buffer.concat([utf8Field('MQTT'), Buffer.from([4, 0b1100_0010, 0, 60])]);
  const payload = Buffer.concat([utf8Field(clientId), utf8Field(username), utf8Field(password)]);
  const body = Buffer.concat([variable, payload]);
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body]);
}

/** Opens a TCP connection from `localAddress` (a loopback address) to the broker. */
export function rawSocket(port: number, localAddress: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, localAddress });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/**
 * Sends a CONNECT with a wrong password for `clientId` from `localAddress`; resolves with the
 * CONNACK return code, or `'closed'` when the broker closed the connection without one.
 */
export async function wrongConnect(port: number, clientId: string, localAddress: string): Promise<number | 'closed'> {
  let s: Socket;
  try {
    s = await rawSocket(port, localAddress);
  } catch {
    return 'closed';
  }
  return new Promise((resolve) => {
    let got: number | 'closed' = 'closed';
    s.on('data', (b: Buffer) => {
      // CONNACK: 0x20 0x02 <flags> <return code>
      if (b[0] === 0x20 && b.length >= 4) got = b[3]!;
      s.destroy();
    });
    s.on('error', () => s.destroy());
    s.once('close', () => resolve(got));
    s.write(connectPacket(clientId, clientId, 'not-the-secret'));
  });
}

/** A real mqtt.js fridge client whose TCP connection comes from `localAddress`. */
export function fridgeFrom(port: number, localAddress: string, id: string, secret: string, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const client = new mqtt.MqttClient(() => connect({ host: '127.0.0.1', port, localAddress }), {
    clientId: id,
    username: id,
    password: secret,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    ...opts,
  });
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', (e) => {
      client.end(true);
      reject(e);
    });
    client.once('close', () => reject(new Error(`${id} from ${localAddress}: connection closed before CONNACK`)));
  });
}
