/**
 * The security headers central sends on every response (@fastify/helmet). The Content-Security-Policy
 * is the dashboard's (`server/dashboard/index.html` repeats it as a `<meta>` for static hosting):
 * scripts, styles, images and connections only from central itself, plus what a `<meta>` cannot
 * say: no framing by any page (`frame-ancestors 'none'`, `X-Frame-Options: DENY`). Referrers are
 * never sent (the dashboard's URL may carry a token in its fragment until the page moves it into
 * session storage), and `X-Content-Type-Options: nosniff` keeps browsers to the declared types.
 */
import type { FastifyHelmetOptions } from '@fastify/helmet';

/** Options of @fastify/helmet for central. */
export const SECURITY_HEADERS: FastifyHelmetOptions = {
  global: true,
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'none'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      baseUri: ["'none'"],
      formAction: ["'none'"],
      frameAncestors: ["'none'"],
    },
  },
  frameguard: { action: 'deny' },
  referrerPolicy: { policy: 'no-referrer' },
  // TLS ends in front of central (a reverse proxy), which owns HSTS: central itself speaks plain
  // HTTP, where the header is meaningless, and pinning HTTPS for a year from here would outlive a
  // proxy that is moved or removed.
  strictTransportSecurity: false,
};
