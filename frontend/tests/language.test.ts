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
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit]
    expect(url).toBe('/api/v1/auth/me/language')
    expect(init.method).toBe('PUT')
    expect(JSON.parse(String(init.body))).toEqual({ language: 'mn-Mong' })
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
    expect(JSON.parse(String((fetch.mock.calls[0] as unknown as [string, RequestInit])[1].body))).toEqual({ language: 'en' })
  })

  it('stays in the browser when the server has no such route', async () => {
    session.user = { ...USER }
    vi.stubGlobal('fetch', answer(404, { status: 404, code: 'not_found' }))
    await chooseLanguage('mn-Mong')
    expect(locale.value).toBe('mn-Mong')
  })
})
