/**
 * The user's language: chosen in the menu, kept in this browser (localStorage, also before
 * login) and, once logged in, on the server (`PUT /auth/me/language`), so it follows the user
 * to another device and the server writes their notifications in it.
 */
import { watch } from 'vue'
import { isLocale, locale, setLocale, type Locale } from '../i18n'
import { client, ok } from './api'
import { ApiError } from './problem'
import { session, type User } from './session'

/** Tell the server; a server without the route (404/405) keeps the browser's choice only. */
async function save(value: Locale): Promise<void> {
  try {
    const me = await ok(client.PUT('/api/v1/auth/me/language', { body: { language: value } }))
    if (session.user && me && typeof me === 'object') session.user = { ...session.user, language: me.language ?? value }
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 405)) return
    throw e
  }
}

/** The language menu: switch now, remember here, and on the server when logged in. */
export async function chooseLanguage(value: Locale): Promise<void> {
  setLocale(value)
  if (session.user) await save(value)
}

/** After login: the server's choice wins; a user without one gets the browser's. */
export async function adoptUserLanguage(user: User): Promise<void> {
  if (isLocale(user.language)) {
    if (user.language !== locale.value) setLocale(user.language)
  } else if (locale.value !== 'zh-CN') {
    await save(locale.value)
  }
}

/** Follow the logged-in user (called once at start-up). */
export function syncLanguageWithUser(): void {
  watch(
    () => session.user?.id,
    (id) => {
      if (id && session.user) adoptUserLanguage(session.user).catch(() => undefined)
    },
  )
}
