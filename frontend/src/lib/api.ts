/**
 * The API client: JSON in and out, bearer token, problem+json -> ApiError.
 * A 401 on a request that carried a token opens the re-login dialog and retries once,
 * so the page (and whatever the user typed) stays where it was.
 *
 * `client` is the typed client (openapi-fetch over the types generated from the server's
 * OpenAPI into `api/schema.d.ts`): paths, parameters, bodies and answers are checked by the
 * compiler. `ok(client.GET(...))` gives the answer's data; every failure is thrown as
 * `ApiError` by the same fetch as `api.*` (token, re-login, problem+json).
 */
import createClient from 'openapi-fetch'
import type { components, paths } from './api/schema'
import { ApiError, toProblem } from './problem'
import { awaitRelogin, session, setToken, type User } from './session'

/** The server's schemas by name (`Schemas['ConsultationPublic']`). */
export type Schemas = components['schemas']

export interface RequestOptions {
  method?: string
  json?: unknown
  form?: Record<string, string>
  body?: BodyInit
  query?: Record<string, string | number | boolean | null | undefined>
  headers?: Record<string, string>
  signal?: AbortSignal
  /** Do not open the re-login dialog on 401 (the login request itself). */
  noRelogin?: boolean
}

export const API_BASE = '/api/v1'

export function buildUrl(path: string, query?: RequestOptions['query']): string {
  const url = path.startsWith('/') && !path.startsWith(API_BASE) && !path.startsWith('/dicom-web')
    ? API_BASE + path
    : path
  if (!query) return url
  const qs = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) {
    if (v !== null && v !== undefined && v !== '') qs.set(k, String(v))
  }
  const s = qs.toString()
  return s ? `${url}?${s}` : url
}

/** fetch, a failure to reach the server as ApiError `network` (an abort stays an abort). */
async function reach(input: RequestInfo, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(input, init)
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e
    throw new ApiError({ status: 0, code: 'network', detail: String(e) })
  }
}

async function send(path: string, opts: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json', ...(opts.headers ?? {}) }
  let body: BodyInit | undefined = opts.body
  if (opts.json !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(opts.json)
  } else if (opts.form) {
    body = new URLSearchParams(opts.form)
  }
  if (session.token) headers.Authorization = `Bearer ${session.token}`
  return reach(buildUrl(path, opts.query), {
    method: opts.method ?? (body ? 'POST' : 'GET'),
    headers,
    body,
    signal: opts.signal,
  })
}

/** The typed client's request again, with the token of the moment (it changes on re-login). */
function resend(url: string, init: RequestInit & { headers: Headers }): Promise<Response> {
  const headers = new Headers(init.headers)
  if (session.token) headers.set('Authorization', `Bearer ${session.token}`)
  else headers.delete('Authorization')
  return reach(url, { ...init, headers })
}

async function parse<T>(res: Response): Promise<T> {
  if (res.status === 204) return undefined as T
  const type = res.headers.get('content-type') ?? ''
  if (type.includes('json')) return (await res.json()) as T
  return (await res.text()) as unknown as T
}

export async function request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  return parse<T>(await checked(() => send(path, opts), opts.noRelogin))
}

/** A binary answer (a PDF) as a Blob, with the same token, re-login and problem handling. */
export async function requestBlob(path: string, opts: RequestOptions = {}): Promise<Blob> {
  return (await checked(() => send(path, opts), opts.noRelogin)).blob()
}

/**
 * Send (again on each call of `attempt`); on 401 with a token, re-login and retry once;
 * a non-2xx answer becomes ApiError.
 */
async function checked(attempt: (n: number) => Promise<Response>, noRelogin = false): Promise<Response> {
  const hadToken = Boolean(session.token)
  let res = await attempt(0)
  if (res.status === 401 && hadToken && !noRelogin) {
    const ok = await awaitRelogin()
    if (ok) res = await attempt(1)
  }
  if (!res.ok) {
    let body: unknown = null
    let text = ''
    try {
      text = await res.text()
      body = text ? JSON.parse(text) : null
    } catch {
      body = null
    }
    throw new ApiError(toProblem(res.status, body, text || res.statusText))
  }
  return res
}

export const api = {
  get: <T>(path: string, query?: RequestOptions['query'], signal?: AbortSignal) =>
    request<T>(path, { query, signal }),
  post: <T>(path: string, json?: unknown, extra: RequestOptions = {}) =>
    request<T>(path, { method: 'POST', json: json ?? {}, ...extra }),
  put: <T>(path: string, json?: unknown) => request<T>(path, { method: 'PUT', json: json ?? {} }),
  patch: <T>(path: string, json?: unknown) => request<T>(path, { method: 'PATCH', json: json ?? {} }),
  delete: <T>(path: string) => request<T>(path, { method: 'DELETE' }),
}

export interface Page<T> {
  items: T[]
  total: number
  limit: number
  offset: number
}

/**
 * The typed client's fetch. The body is read once into bytes, so the retry after a re-login
 * sends the same bytes, and the browser sends (and shows in its tools) a plain body, not a
 * stream.
 */
async function typedFetch(req: Request): Promise<Response> {
  const body = req.body ? await req.arrayBuffer() : undefined
  const init = { method: req.method, headers: new Headers(req.headers), body, signal: req.signal }
  return checked(() => resend(req.url, init))
}

/** The typed client on the same origin (paths are the OpenAPI's, `/api/v1/...`). */
export const client = createClient<paths>({
  baseUrl: typeof location !== 'undefined' && location.origin !== 'null' ? location.origin : 'http://localhost',
  fetch: typedFetch,
  headers: { Accept: 'application/json' },
})

/** The data of a typed call: failures were thrown as ApiError, so only the answer is left. */
export async function ok<D>(call: Promise<{ data?: D; response: Response }>): Promise<D> {
  return (await call).data as D
}

/** Exchange username and password for a token and load the user. */
export async function login(username: string, password: string): Promise<User> {
  const tok = await request<{ access_token: string }>('/auth/token', {
    method: 'POST',
    form: { username, password },
    noRelogin: true,
  })
  setToken(tok.access_token)
  const me = await request<User>('/auth/me', { noRelogin: true })
  session.user = me
  return me
}

/** Load the user behind a stored token; null when it is no longer valid. */
export async function restore(): Promise<User | null> {
  if (!session.token) return null
  try {
    const me = await request<User>('/auth/me', { noRelogin: true })
    session.user = me
    return me
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      setToken(null)
      return null
    }
    throw e
  }
}

export async function logout(): Promise<void> {
  try {
    if (session.token) await request<void>('/auth/logout', { method: 'POST', noRelogin: true })
  } catch {
    /* the token may be gone already */
  }
  setToken(null)
  session.user = null
}
