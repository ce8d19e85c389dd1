/**
 * Every error leaves central as the one body of the shared catalog (`errorBodyOf`, the same as the
 * gateway's kiosk API answers): `{statusCode, code, message}`, plus `lacking` on `SOLD_OUT`.
 */
import type { FastifyInstance } from 'fastify';
import { errorBody, errorBodyOf } from '@fridgesync/shared';

/** Installs the error and not-found handlers. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err, req, reply) => {
    const body = errorBodyOf(err);
    if (body.statusCode >= 500) req.log.error({ err }, 'request failed');
    void reply.status(body.statusCode).send(body);
  });
  app.setNotFoundHandler((_req, reply) => {
    void reply.status(404).send(errorBody('NOT_FOUND'));
  });
}
