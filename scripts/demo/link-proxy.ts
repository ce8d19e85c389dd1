/**
 * A TCP proxy that stands for a venue's internet link in the demo: it forwards connections to a
 * target and can be cut (every open connection is destroyed and new ones are refused) and restored.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

/** A controllable link. */
export interface LinkProxy {
  /** The local port the gateway connects to. */
  port: number;
  /** True while the link is up. */
  readonly up: boolean;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

/** Starts a proxy on a free loopback port forwarding to `targetHost:targetPort`. */
export async function startLinkProxy(targetHost: string, targetPort: number): Promise<LinkProxy> {
  const sockets = new Set<Socket>();
  let up = true;
  const server: Server = createServer((client) => {
    if (!up) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, targetHost);
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    get up() {
      return up;
    },
    cut() {
      up = false;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    restore() {
      up = true;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
