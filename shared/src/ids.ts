/**
 * Branded identifiers. Every id in the system is created only by one of the zod parsers below,
 * so a `FridgeId` can never be passed where a `MealId` is expected, and every id that reaches the
 * domain has already been checked for length and alphabet.
 *
 * Plain ids (`VenueId`, `FridgeId`, `MealId`, `GatewayId`, `OrderId`, …) use `[A-Za-z0-9._-]`, 1–64
 * characters: safe in MQTT topics, URLs, LevelDB keys and the `:`-separated keys of the venue
 * document. Replica ids contain `:` by construction and are parsed structurally.
 */
import { z } from 'zod';

/** Alphabet of plain ids: no `:` (document key separator), no `/`, `+`, `#` (MQTT topic syntax). */
export const PLAIN_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

const plainId = () => z.string().regex(PLAIN_ID_PATTERN, 'must be 1-64 characters of A-Z a-z 0-9 . _ -');

export const VenueIdSchema = plainId().brand<'VenueId'>();
export type VenueId = z.infer<typeof VenueIdSchema>;
export const FridgeIdSchema = plainId().brand<'FridgeId'>();
export type FridgeId = z.infer<typeof FridgeIdSchema>;
export const MealIdSchema = plainId().brand<'MealId'>();
export type MealId = z.infer<typeof MealIdSchema>;
export const GatewayIdSchema = plainId().brand<'GatewayId'>();
export type GatewayId = z.infer<typeof GatewayIdSchema>;
export const OrderIdSchema = plainId().brand<'OrderId'>();
export type OrderId = z.infer<typeof OrderIdSchema>;
export const DeliveryIdSchema = plainId().brand<'DeliveryId'>();
export type DeliveryId = z.infer<typeof DeliveryIdSchema>;
export const CitySchema = z.string().min(1).max(64).brand<'City'>();
export type City = z.infer<typeof CitySchema>;
/** Instance id of a central process (`central:<instanceId>`). */
export const InstanceIdSchema = plainId().brand<'InstanceId'>();
export type InstanceId = z.infer<typeof InstanceIdSchema>;

/**
 * A replica is a writer of the venue document: `gw:<gatewayId>:<epoch>` or `central:<instanceId>`.
 * Epochs are positive integers and a replica id is never reused (docs/design.md "Replica lifecycle").
 */
export const ReplicaIdSchema = z
  .string()
  .max(96)
  .regex(/^(gw:[A-Za-z0-9._-]{1,64}:[1-9][0-9]{0,15}|central:[A-Za-z0-9._-]{1,64})$/, 'must be gw:<gatewayId>:<epoch> or central:<instanceId>')
  .brand<'ReplicaId'>();
export type ReplicaId = z.infer<typeof ReplicaIdSchema>;

/** The parts of a replica id. */
export type ReplicaParts =
  | { kind: 'gateway'; gatewayId: GatewayId; epoch: number }
  | { kind: 'central'; instanceId: InstanceId };

/** Splits a (valid) replica id into its parts. */
export function replicaParts(id: ReplicaId): ReplicaParts {
  const parts = id.split(':');
  if (parts[0] === 'gw') {
    return { kind: 'gateway', gatewayId: parts[1] as GatewayId, epoch: Number(parts[2]) };
  }
  return { kind: 'central', instanceId: parts[1] as InstanceId };
}

/** Builds a gateway replica id. */
export function gatewayReplicaId(gatewayId: GatewayId, epoch: number): ReplicaId {
  return ReplicaIdSchema.parse(`gw:${gatewayId}:${epoch}`);
}

/** Builds a central replica id. */
export function centralReplicaId(instanceId: InstanceId): ReplicaId {
  return ReplicaIdSchema.parse(`central:${instanceId}`);
}

/** True when `s` is a syntactically valid replica id. */
export function isReplicaId(s: string): s is ReplicaId {
  return ReplicaIdSchema.safeParse(s).success;
}
