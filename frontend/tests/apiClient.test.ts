import { afterEach, describe, expect, it, vi } from 'vitest'
import { client, ok } from '../src/lib/api'
import { ApiError } from '../src/lib/problem'
import { confirm } from '../src/lib/scheduling'
import { reloginDone, session, setToken } from '../src/lib/session'

type Answer = { status: number; body?: unknown; type?: string }

/** A stubbed fetch answering in turn; it keeps what each Request carried. */
function server(...answers: Answer[]) {
  const seen: { path: string; search: string; method: string; auth: string | null; headers: Headers; body: string }[] = []
  const fetch = vi.fn(async (input: RequestInfo, init?: RequestInit) => {
    const req = new Request(input, init)
    const url = new URL(req.url)
    seen.push({
      path: url.pathname, search: url.search, method: req.method, auth: req.headers.get('Authorization'),
      headers: req.headers, body: await req.text(),
    })
    const a = answers[Math.min(seen.length - 1, answers.length - 1)]
    return new Response(a.body === undefined ? null : JSON.stringify(a.body), {
      status: a.status, headers: { 'content-type': a.type ?? 'application/json' },
    })
  })
  vi.stubGlobal('fetch', fetch)
  return seen
}

afterEach(() => {
  vi.unstubAllGlobals()
  setToken(null)
  session.expired = false
})

describe('the typed client', () => {
  it('sends the bearer token, the typed path and query, and gives the data', async () => {
    setToken('tok-1')
    const seen = server({ status: 200, body: [{ id: 'w1', status: 'waiting' }] })
    const rows = await ok(client.GET('/api/v1/waitlist', { params: { query: { limit: 5, offset: 0 } } }))
    expect(rows[0].id).toBe('w1')
    expect(seen[0]).toMatchObject({ path: '/api/v1/waitlist', search: '?limit=5&offset=0', method: 'GET', auth: 'Bearer tok-1' })
    expect(seen[0].headers.get('Accept')).toBe('application/json')
  })

  it('throws a problem+json answer as ApiError with its code and field errors', async () => {
    server({
      status: 409, type: 'application/problem+json',
      body: { status: 409, code: 'hold_expired', detail: 'the hold expired', errors: [{ field: 'body.hold_id', message: 'gone' }] },
    })
    const err = await confirm('h1', 'key-1').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).status).toBe(409)
    expect((err as ApiError).code).toBe('hold_expired')
    expect((err as ApiError).fieldErrors).toEqual({ hold_id: 'gone' })
  })

  it('sends the idempotency key and the JSON body', async () => {
    const seen = server({ status: 201, body: { id: 'b1' } })
    await confirm('h1', 'key-7')
    expect(seen[0].method).toBe('POST')
    expect(seen[0].headers.get('Idempotency-Key')).toBe('key-7')
    expect(seen[0].headers.get('Content-Type')).toBe('application/json')
    expect(JSON.parse(seen[0].body)).toEqual({ hold_id: 'h1' })
  })

  it('on 401 asks for a re-login and sends the same request again with the new token', async () => {
    setToken('old')
    const seen = server({ status: 401, body: { status: 401, code: 'not_authenticated' } }, { status: 201, body: { id: 'b2' } })
    const pending = confirm('h2', 'key-8')
    await vi.waitFor(() => expect(session.expired).toBe(true))
    setToken('new')
    reloginDone(true)
    expect((await pending).id).toBe('b2')
    expect(seen.map((s) => s.auth)).toEqual(['Bearer old', 'Bearer new'])
    expect(JSON.parse(seen[1].body)).toEqual({ hold_id: 'h2' })
    expect(seen[1].headers.get('Idempotency-Key')).toBe('key-8')
  })

  it('gives up with the 401 when the user does not log in again', async () => {
    setToken('old')
    server({ status: 401, body: { status: 401, code: 'not_authenticated' } })
    const pending = confirm('h3', 'key-9').catch((e: unknown) => e)
    await vi.waitFor(() => expect(session.expired).toBe(true))
    reloginDone(false)
    expect(((await pending) as ApiError).status).toBe(401)
  })

  it('turns an unreachable server into ApiError network', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => {
      throw new TypeError('Failed to fetch')
    }))
    const err = await ok(client.GET('/api/v1/auth/me')).catch((e: unknown) => e)
    expect((err as ApiError).code).toBe('network')
    expect((err as ApiError).status).toBe(0)
  })
})
