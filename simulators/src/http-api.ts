/**
 * The simulator's HTTP client for central and for gateway kiosks (README "Contracts"): orders, cancels,
 * kitchen deliveries and the catalog. Every call has a timeout and turns transport failures into
 * values, so a central that is down is counted and reported, never a crash.
 */
import type { CreateOrderBody, DeliveryBody } from '@fridgesync/shared';

/** How an order request ended. */
export type OrderOutcome =
  /** 201 (new reservation) or 200 (the same order, replayed). */
  | { kind: 'confirmed'; status: 200 | 201; ms: number; holdUntil?: string }
  /** 409 `SOLD_OUT`. */
  | { kind: 'sold-out'; ms: number }
  /** Any other HTTP answer: validation error, unknown fridge, 5xx … */
  | { kind: 'rejected'; status: number; code: string; ms: number }
  /** No answer (connection refused, timeout): the order may or may not exist. */
  | { kind: 'unreachable'; error: string; ms: number };

/** Result of a call whose body does not matter. */
export interface CallResult {
  ok: boolean;
  status: number;
  code?: string;
  error?: string;
}

/** Options of {@link HttpApi}. */
export interface HttpApiOptions {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  /** Bearer token sent with every request, if any. */
  token?: string;
  /** Per-request timeout, ms (default 5,000; the product promises answers within 800 ms). */
  timeoutMs?: number;
}

/** Central's (or a kiosk's) HTTP API as the simulator uses it. */
export class HttpApi {
  private readonly base: string;
  constructor(private readonly opts: HttpApiOptions) {
    this.base = opts.baseUrl.replace(/\/+$/, '');
  }

  get baseUrl(): string {
    return this.base;
  }

  private async call(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? 5_000),
    });
    const text = await res.text();
    let json: unknown = undefined;
    try {
      json = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, json };
  }

  /** `POST /v1/orders`. */
  async createOrder(body: CreateOrderBody): Promise<OrderOutcome> {
    const t0 = performance.now();
    try {
      const { status, json } = await this.call('POST', '/v1/orders', body);
      const ms = performance.now() - t0;
      const code = errorCode(json);
      if (status === 200 || status === 201) {
        const holdUntil = typeof json === 'object' && json !== null && typeof (json as { holdUntil?: unknown }).holdUntil === 'string' ? (json as { holdUntil: string }).holdUntil : undefined;
        return { kind: 'confirmed', status, ms, ...(holdUntil ? { holdUntil } : {}) };
      }
      if (status === 409 && code === 'SOLD_OUT') return { kind: 'sold-out', ms };
      return { kind: 'rejected', status, code: code ?? `HTTP_${status}`, ms };
    } catch (e) {
      return { kind: 'unreachable', error: describe(e), ms: performance.now() - t0 };
    }
  }

  /** `POST /v1/orders/{id}/cancel`. */
  cancelOrder(orderId: string): Promise<CallResult> {
    return this.simple('POST', `/v1/orders/${encodeURIComponent(orderId)}/cancel`, {});
  }

  /** `POST /v1/orders/{id}/unlock` (gateway kiosk): the order's fridge opens for the customer. */
  unlockOrder(orderId: string): Promise<CallResult> {
    return this.simple('POST', `/v1/orders/${encodeURIComponent(orderId)}/unlock`, {});
  }

  /** `POST /v1/kitchen/deliveries`. */
  announceDelivery(body: DeliveryBody): Promise<CallResult> {
    return this.simple('POST', '/v1/kitchen/deliveries', body);
  }

  /** `GET /v1/catalog?city=`; throws when central does not answer 200. */
  async catalog(city?: string): Promise<unknown> {
    const q = city === undefined ? '' : `?city=${encodeURIComponent(city)}`;
    const { status, json } = await this.call('GET', `/v1/catalog${q}`);
    if (status !== 200) throw new Error(`GET /v1/catalog${q} answered ${status} ${errorCode(json) ?? ''}`.trim());
    return json;
  }

  private async simple(method: string, path: string, body: unknown): Promise<CallResult> {
    try {
      const { status, json } = await this.call(method, path, body);
      const code = errorCode(json);
      return { ok: status >= 200 && status < 300, status, ...(code ? { code } : {}) };
    } catch (e) {
      return { ok: false, status: 0, error: describe(e) };
    }
  }
}

function errorCode(json: unknown): string | undefined {
  if (typeof json === 'object' && json !== null && typeof (json as { code?: unknown }).code === 'string') return (json as { code: string }).code;
  return undefined;
}

function describe(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  return err.cause?.code ?? err.cause?.message ?? err.message ?? String(e);
}
