/**
 * Hostile HTTP requests for every route a process describes in its OpenAPI document
 * (`/documentation/json`): path ids that are traversals, NUL bytes, prototype keys, broken
 * percent-encoding or 4 KiB long, and bodies that are not JSON, the wrong JSON type, prototype
 * pollution, 10 000 levels deep, or beyond the body limit. None is a valid request, so each must
 * be refused (4xx) without changing anything (docs/reliability.md "Hostile input").
 */

/** One route: method and OpenAPI path (`/v1/orders/{orderId}`). */
export interface Route {
  method: string;
  path: string;
}

/** One hostile request. */
export interface HostileRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** What is hostile about it, for the report. */
  what: string;
}

/** Routes not tried: streams, sockets and the static pages (no input to speak of). */
const SKIP = [/^\/sync\//, /^\/v1\/events$/, /^\/documentation/, /^\/metrics$/, /^\/dashboard/, /^\/livez$/, /^\/readyz$/, /^\/status$/];

/** The process's routes from its OpenAPI document. */
export async function routesOf(base: string, headers: Record<string, string>): Promise<Route[]> {
  const doc = (await (await fetch(`${base}/documentation/json`, { headers })).json()) as { paths: Record<string, Record<string, unknown>> };
  const out: Route[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    if (SKIP.some((re) => re.test(path))) continue;
    for (const method of Object.keys(ops)) if (['get', 'post', 'put', 'patch', 'delete'].includes(method)) out.push({ method: method.toUpperCase(), path });
  }
  return out;
}

const IDS: Array<[string, string]> = [
  ['traversal', '..%2F..%2Fetc%2Fpasswd'],
  ['NUL', 'a%00b'],
  ['__proto__', '__proto__'],
  ['constructor', 'constructor'],
  ['broken percent-encoding', '%E0%A4%A'],
  ['emoji', '%F0%9F%92%A5'],
  ['4 KiB', 'x'.repeat(4096)],
  ['quote', "x'%20OR%201%3D1--"],
];

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
const BODIES: Array<[string, string, string]> = [
  ['not JSON', 'application/json', '{'],
  ['null', 'application/json', 'null'],
  ['array', 'application/json', '[]'],
  ['string', 'application/json', '"x"'],
  ['number', 'application/json', '123'],
  ['__proto__ pollution', 'application/json', '{"__proto__":{"admin":true,"role":"admin"}}'],
  ['constructor pollution', 'application/json', '{"constructor":{"prototype":{"polluted":1}}}'],
  ['wrong field types', 'application/json', '{"orderId":{"$gt":""},"venueId":[],"fridgeId":1,"items":"all","qty":-1}'],
  ['10 000 levels deep', 'application/json', deep(10_000)],
  ['2 MiB string', 'application/json', JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) })],
  ['text/plain', 'text/plain', 'hello'],
];

/** Every hostile request for one route of the process at `base`. */
export function hostileRequests(route: Route, base: string): HostileRequest[] {
  const fill = (id: string) => route.path.replace(/\{[^}]+\}/g, id);
  const out: HostileRequest[] = [];
  const hasParams = /\{[^}]+\}/.test(route.path);
  const takesBody = ['POST', 'PUT', 'PATCH'].includes(route.method);
  if (hasParams) for (const [what, id] of IDS) out.push({ method: route.method, url: `${base}${fill(id)}`, headers: takesBody ? { 'content-type': 'application/json' } : {}, body: takesBody ? '{}' : undefined, what: `id ${what}` });
  if (takesBody) for (const [what, type, body] of BODIES) out.push({ method: route.method, url: `${base}${fill('hostile-id')}`, headers: { 'content-type': type }, body, what: `body ${what}` });
  return out;
}
