/**
 * Error responses of the HTTP surfaces (central and the gateway's kiosk API), from the one catalog
 * (`ERROR_CODES`): the one body every thrown error becomes ({@link errorBodyOf}), and the response
 * schemas of each route, so the OpenAPI description lists every error a route answers with its
 * status, code and message (`docs/errors.md` lists the same catalog).
 */
import { z } from 'zod';
import { ERROR_CODES, FridgesyncError, type ErrorBody, type ErrorCode } from './errors.ts';

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

/** The fields of an error thrown inside a fastify app that say what went wrong (fastify's own errors). */
interface FrameworkError {
  code?: unknown;
  statusCode?: unknown;
  message?: unknown;
  validation?: ReadonlyArray<{ instancePath?: string; message?: string }>;
  validationContext?: string;
}

/** The catalog body of a code (its default message unless `message` is given). */
export function errorBody(code: ErrorCode, message?: string): ErrorBody {
  return { statusCode: ERROR_CODES[code].statusCode, code, message: message ?? ERROR_CODES[code].message };
}

/**
 * The one error body of central and the gateway for anything a request handler throws: a
 * {@link FridgesyncError} answers its own body (a `SOLD_OUT` with `lacking`); the framework's errors
 * (schema validation, body size, media type, malformed JSON, rate limit) map onto the catalog; all
 * else is `500 INTERNAL`, whose cause stays in the server's log.
 */
export function errorBodyOf(err: unknown): ErrorBody {
  if (err instanceof FridgesyncError) return err.toBody();
  const e = (typeof err === 'object' && err !== null ? err : {}) as FrameworkError;
  const message = typeof e.message === 'string' ? e.message : undefined;
  if (e.validation !== undefined) {
    const first = e.validation[0];
    return errorBody('VALIDATION_FAILED', `${e.validationContext ?? 'request'}${first?.instancePath ?? ''}: ${first?.message ?? 'invalid'}`.slice(0, 300));
  }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errorBody('PAYLOAD_TOO_LARGE');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return errorBody('VALIDATION_FAILED', message);
  }
  if (e.statusCode === 429) return errorBody('RATE_LIMITED');
  if (err instanceof SyntaxError || (e.statusCode === 400 && message !== undefined)) return errorBody('VALIDATION_FAILED', message);
  if (e.statusCode === 413) return errorBody('PAYLOAD_TOO_LARGE');
  return errorBody('INTERNAL');
}
