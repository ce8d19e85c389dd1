// @ts-check
// HTTP access to central: the viewer token lives in sessionStorage (this tab only) and goes out
// as `Authorization: Bearer` on every request.

const TOKEN_KEY = 'fridgesync.viewerToken';

/** The stored token, or `undefined`. */
export function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

/** @param {string} token */
export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** An HTTP error with central's `{statusCode, code, message}` body when there is one. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Central's version as last seen in a response header (`x-fridgesync-version`). */
/** @type {string | undefined} */
let lastVersion;
export function centralVersion() {
  return lastVersion;
}

/**
 * GET a JSON resource of central; throws `ApiError` (status 0 when central is unreachable). The
 * caller names the view it reads (types.d.ts); central's response schemas guarantee its shape.
 * @param {string} path
 * @param {{ signal?: AbortSignal }} [options]
 * @returns {Promise<any>}
 */
export async function getJson(path, { signal } = {}) {
  let res;
  try {
    res = await fetch(path, { headers: { Authorization: `Bearer ${getToken() ?? ''}`, Accept: 'application/json' }, signal, cache: 'no-store' });
  } catch (err) {
    if (err instanceof Error && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'UNREACHABLE', 'central is unreachable');
  }
  const v = res.headers.get('x-fridgesync-version');
  if (v) lastVersion = v;
  if (!res.ok) {
    let body;
    try {
      body = await res.json();
    } catch {
      body = undefined;
    }
    throw new ApiError(res.status, body?.code ?? `HTTP_${res.status}`, body?.message ?? res.statusText);
  }
  return res.json();
}
