/**
 * `gateway.online` / `gateway.offline` facts (docs/design.md "Domain event log"). A gateway's sync
 * link is what central itself observes, not state in a venue document: the fact's id names the
 * connection (its peer id and the time central admitted it), so each connection is logged once
 * going up and once going down.
 */
import type { GatewayLink } from '../sync/gateway-presence.ts';
import type { DomainFact } from './event-log-port.ts';
import { factId } from './fact-ids.ts';

/** The fact of a gateway's link going up (`link.connected`) or down. */
export function gatewayLinkFact(venue: string, gateway: string, link: Readonly<GatewayLink>): DomainFact {
  const connection = [gateway, link.peerId ?? '', link.connectedAt ?? 0];
  return link.connected
    ? { id: factId(venue, 'gateway.online', connection), venueId: venue, fact: { kind: 'gateway.online', gatewayId: gateway, replica: link.replica ?? null } }
    : { id: factId(venue, 'gateway.offline', connection), venueId: venue, fact: { kind: 'gateway.offline', gatewayId: gateway } };
}
