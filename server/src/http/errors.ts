/**
 * Every error leaves central as `{statusCode, code, message}` with a code from the shared catalog
 * (`ERROR_CODES`). Fastify's own errors (schema validation, body size, unsupported type, rate limit)
 * are mapped onto the catalog here, in one place.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { ERROR_CODES, FridgesyncError, type ErrorBody, type ErrorCode } from '@fridgesync/shared';

/** The body of a catalog error. */
export function errorBody(code: ErrorCode, message?: string): ErrorBody {
  return { statusCode: ERROR_CODES[code].statusCode, code, message: message ?? ERROR_CODES[code].message };
}

function fromFastify(err: FastifyError): ErrorBody {
  if (hasZodFastifySchemaValidationErrors(err) || err.validation !== undefined) {
    const first = err.validation?.[0] as { instancePath?: string; message?: string } | undefined;
    const where = err.validationContext ?? 'request';
    return errorBody('VALIDATION_FAILED', `${where}${first?.instancePath ?? ''}: ${first?.message ?? 'invalid'}`.slice(0, 300));
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errorBody('PAYLOAD_TOO_LARGE');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return errorBody('VALIDATION_FAILED', err.message);
  }
  if (err.statusCode === 429) return errorBody('RATE_LIMITED');
  if (err instanceof SyntaxError || (err.statusCode === 400 && typeof err.message === 'string')) return errorBody('VALIDATION_FAILED', err.message);
  if (err.statusCode === 413) return errorBody('PAYLOAD_TOO_LARGE');
  return errorBody('INTERNAL');
}

/** Installs the error and not-found handlers. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const body = err instanceof FridgesyncError ? err.toBody() : fromFastify(err);
    if (body.statusCode >= 500) req.log.error({ err }, 'request failed');
    void reply.status(body.statusCode).send(body);
  });
  app.setNotFoundHandler((_req, reply) => {
    void reply.status(404).send(errorBody('NOT_FOUND'));
  });
}
