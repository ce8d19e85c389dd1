/**
 * A TCP relay between a gateway and central that a test can cut and heal: the partition of the
 * venue's uplink while both processes keep running (stopping central would also stop its order
 * taking). Cutting destroys every relayed connection and refuses new ones until healed.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/** A cuttable relay to `127.0.0.1:<targetPort>`. */
export class LinkProxy {
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  private down = false;
  port = 0;

  constructor(private readonly targetPort: () => number) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      if (this.down) {
        client.destroy();
        return;
      }
      const upstream = connect(this.targetPort(), '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** The link goes down: open connections are dropped, new ones refused. */
  cut(): void {
    this.down = true;
    for (const s of this.sockets) s.destroy();
  }

  /** The link comes back. */
  heal(): void {
    this.down = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => (this.server === undefined ? resolve() : this.server.close(() => resolve())));
  }
}
