/**
 * Error responses of an HTTP route, documented from the one catalog (`ERROR_CODES`): central and the
 * gateway's kiosk API put them in their route schemas, so the OpenAPI description lists every error
 * a route answers with its status, code and message (`docs/errors.md` lists the same catalog).
 */
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from './errors.ts';

/** The extra field of a `SOLD_OUT` body (see `SoldOutError`). */
const SoldOutLines = z
  .array(
    z.object({
      mealId: z.string(),
      requested: z.number().int(),
      sellableHere: z.number().int(),
      available: z.number().int().describe('deprecated: the same value as sellableHere, under its earlier name'),
    }),
  )
  .describe('SOLD_OUT only: per lacking meal, what was asked and what this order taker can sell now');

/**
 * One response schema per HTTP status for `codes`: `{statusCode, code, message}`, the code listed
 * as an enum in the description. At run time the schema accepts any code and keeps extra fields
 * (a `SOLD_OUT` body's `lacking`, a promotion import's `errors`): it is also the serializer of those
 * responses, and a documentation gap must never turn an error answer into a 500.
 */
export function errorResponses(codes: Iterable<ErrorCode>): Record<number, z.ZodType> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = ERROR_CODES[code].statusCode;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<number, z.ZodType> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    list.sort();
    out[status] = z
      .looseObject({
        statusCode: z.number().int(),
        code: z.string().meta({ enum: list }),
        message: z.string(),
        ...(list.includes('SOLD_OUT') ? { lacking: SoldOutLines.optional() } : {}),
      })
      .describe(list.map((c) => `\`${c}\`: ${ERROR_CODES[c].message}`).join(' '));
  }
  return out;
}
