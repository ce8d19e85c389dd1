/**
 * Liveness of the sync connection from the gateway's side. Central pings every socket and drops
 * one that misses two pongs (`sync.pingIntervalMs` of central), but a gateway behind a link that
 * went silent — a dropped NAT mapping, a route that blackholes, central's host lost power — is
 * never told: its socket stays open, it reports itself synced, and what it sends goes nowhere
 * until TCP gives up minutes later. So the gateway pings too, and a connection that answers
 * nothing (no pong, no message) for {@link MISSED_LIMIT} intervals in a row is terminated and the
 * usual reconnect follows (docs/sync-protocol.md "Liveness").
 */
import type { WebSocket } from 'ws';

/** Intervals in a row without a sign of life after which the connection counts as dead. */
export const MISSED_LIMIT = 2;

/**
 * Pings `ws` every `intervalMs` from now on; calls `onDead` once when {@link MISSED_LIMIT}
 * intervals in a row passed without a pong or a message. Returns the function that stops it
 * (call it on close).
 */
export function startHeartbeat(ws: WebSocket, intervalMs: number, onDead: () => void): () => void {
  let missed = 0;
  const alive = () => (missed = 0);
  ws.on('pong', alive);
  ws.on('message', alive);
  const timer = setInterval(() => {
    if (missed >= MISSED_LIMIT) {
      stop();
      onDead();
      return;
    }
    missed++;
    try {
      ws.ping();
    } catch {
      // closing already: the close handler stops the heartbeat
    }
  }, intervalMs);
  timer.unref();
  const stop = () => {
    clearInterval(timer);
    ws.off('pong', alive);
    ws.off('message', alive);
  };
  return stop;
}
