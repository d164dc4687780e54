/**
 * One small JSON client per CRM API: a configurable base URL (tests point it at a local fake),
 * a rate limiter sized to the CRM's published limit (p-throttle), retries with exponential backoff
 * and jitter on 429 and 5xx (honouring Retry-After), and a timeout per call. The limiter is per
 * process; on AWS the normaliser's and the outbound function's reserved concurrency bound the
 * number of processes, so the CRM-wide rate stays under the published limit.
 */
import pThrottle from 'p-throttle';

export interface RestClientOptions {
  /** e.g. https://api.hubapi.com (no trailing slash needed). */
  baseUrl: string;
  /** Headers on every call (authentication). A function, so a rotated secret is picked up. */
  headers: () => Promise<Record<string, string>> | Record<string, string>;
  /** Calls allowed per interval (the CRM's published limit, with headroom). */
  limit: number;
  intervalMs: number;
  maxAttempts?: number;
  baseDelayMs?: number;
  timeoutMs?: number;
  /** For logs and errors: which CRM. */
  name: string;
}

export class CrmApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'CrmApiError';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.min(seconds * 1000, 60_000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.min(Math.max(at - Date.now(), 0), 60_000);
}

export interface RestClient {
  /** JSON request; resolves the parsed body (undefined for 204). Throws CrmApiError after retries or on a 4xx. */
  request<T = unknown>(method: string, path: string, body?: unknown, query?: Record<string, string | number | undefined>): Promise<T>;
  get<T = unknown>(path: string, query?: Record<string, string | number | undefined>): Promise<T>;
  post<T = unknown>(path: string, body: unknown): Promise<T>;
  patch<T = unknown>(path: string, body: unknown): Promise<T>;
  put<T = unknown>(path: string, body: unknown): Promise<T>;
}

export function createRestClient(opts: RestClientOptions): RestClient {
  const base = opts.baseUrl.replace(/\/+$/, '');
  const maxAttempts = opts.maxAttempts ?? 5;
  const baseDelay = opts.baseDelayMs ?? 250;
  const throttle = pThrottle({ limit: opts.limit, interval: opts.intervalMs });
  const call = throttle(async (url: string, init: RequestInit) => fetch(url, { ...init, signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000) }));

  async function request<T>(method: string, path: string, body?: unknown, query?: Record<string, string | number | undefined>): Promise<T> {
    const url = new URL(base + (path.startsWith('/') ? path : `/${path}`));
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    let lastError: CrmApiError | undefined;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      let res: Response;
      try {
        res = await call(url.toString(), {
          method,
          headers: { accept: 'application/json', ...(body !== undefined && { 'content-type': 'application/json' }), ...(await opts.headers()) },
          ...(body !== undefined && { body: JSON.stringify(body) }),
        });
      } catch (err) {
        // Network error or timeout: retryable.
        lastError = new CrmApiError(`${opts.name} ${method} ${url.pathname}: ${(err as Error).message}`, 0, true);
        if (attempt < maxAttempts) await sleep(baseDelay * 2 ** (attempt - 1) * (0.5 + Math.random() / 2));
        continue;
      }
      if (res.ok) {
        if (res.status === 204) return undefined as T;
        const text = await res.text();
        return (text ? JSON.parse(text) : undefined) as T;
      }
      const retryable = res.status === 429 || res.status >= 500;
      // The error names the path, never the body (it may echo personal data).
      lastError = new CrmApiError(`${opts.name} ${method} ${url.pathname} answered ${res.status}`, res.status, retryable);
      await res.body?.cancel();
      if (!retryable) throw lastError;
      if (attempt < maxAttempts) await sleep(retryAfterMs(res.headers.get('retry-after')) ?? baseDelay * 2 ** (attempt - 1) * (0.5 + Math.random() / 2));
    }
    throw lastError ?? new CrmApiError(`${opts.name} ${method} ${url.pathname} failed`, 0, true);
  }

  return {
    request,
    get: (path, query) => request('GET', path, undefined, query),
    post: (path, body) => request('POST', path, body),
    patch: (path, body) => request('PATCH', path, body),
    put: (path, body) => request('PUT', path, body),
  };
}
