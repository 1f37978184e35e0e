import { afterEach, describe, expect, it, vi } from 'vitest'
import { locale, setLocale } from '../src/i18n'
import { adoptUserLanguage, chooseLanguage } from '../src/lib/language'
import { session, type User } from '../src/lib/session'

const USER: User = {
  id: 'u1', username: 'patient', role: 'patient', full_name: '巴特尔', institution_id: null,
  department_id: null, specialty_code: null, title: null, patient_id: 'p1', language: null,
}

function answer(status: number, body: unknown = null) {
  return vi.fn(async () => new Response(body === null ? null : JSON.stringify(body), {
    status, headers: { 'content-type': 'application/json' },
  }))
}

/** The n-th request the stubbed fetch got (the typed client sends a Request). */
async function sent(fetch: ReturnType<typeof answer>, n = 0): Promise<{ path: string; method: string; body: unknown }> {
  const req = new Request(...(fetch.mock.calls[n] as unknown as [RequestInfo, RequestInit?]))
  return { path: new URL(req.url).pathname, method: req.method, body: JSON.parse(await req.text()) }
}

afterEach(() => {
  vi.unstubAllGlobals()
  session.user = null
  setLocale('zh-CN')
})

describe('the language choice', () => {
  it('is only kept in the browser before login', async () => {
    const fetch = answer(200, {})
    vi.stubGlobal('fetch', fetch)
    await chooseLanguage('mn-Mong')
    expect(locale.value).toBe('mn-Mong')
    expect(fetch).not.toHaveBeenCalled()
  })

  it('is sent to the server once logged in (PUT /auth/me/language)', async () => {
    session.user = { ...USER }
    const fetch = answer(200, { ...USER, language: 'mn-Mong' })
    vi.stubGlobal('fetch', fetch)
    await chooseLanguage('mn-Mong')
    const req = await sent(fetch)
    expect(req.path).toBe('/api/v1/auth/me/language')
    expect(req.method).toBe('PUT')
    expect(req.body).toEqual({ language: 'mn-Mong' })
    expect(session.user?.language).toBe('mn-Mong')
  })

  it("takes the user's language at login, else sends the browser's", async () => {
    vi.stubGlobal('fetch', answer(200, {}))
    await adoptUserLanguage({ ...USER, language: 'mn-Mong' })
    expect(locale.value).toBe('mn-Mong')

    setLocale('en')
    const fetch = answer(200, { ...USER, language: 'en' })
    vi.stubGlobal('fetch', fetch)
    await adoptUserLanguage({ ...USER, language: null })
    expect(locale.value).toBe('en')
    expect((await sent(fetch)).body).toEqual({ language: 'en' })
  })

  it('stays in the browser when the server has no such route', async () => {
    session.user = { ...USER }
    vi.stubGlobal('fetch', answer(404, { status: 404, code: 'not_found' }))
    await chooseLanguage('mn-Mong')
    expect(locale.value).toBe('mn-Mong')
  })
})
