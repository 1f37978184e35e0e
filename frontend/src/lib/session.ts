/** The logged-in user and the bearer token; a pending re-login when the token expired. */
import { reactive } from 'vue'
import type { components } from './api/schema'

export type Role = components['schemas']['Role']

/** `must_change_password`: set by an admin, only the password change is allowed until it is done;
 * `language`: the one the user chose (null: not chosen). */
export type User = components['schemas']['UserPublic']

const TOKEN_KEY = 'telemed.token'

function readToken(): string | null {
  try {
    return globalThis.localStorage?.getItem(TOKEN_KEY) ?? null
  } catch {
    return null
  }
}

export const session = reactive({
  token: readToken() as string | null,
  user: null as User | null,
  /** True while the app asks the user to log in again (401 on a request that had a token). */
  expired: false,
})

export function setToken(token: string | null): void {
  session.token = token
  try {
    if (token) globalThis.localStorage?.setItem(TOKEN_KEY, token)
    else globalThis.localStorage?.removeItem(TOKEN_KEY)
  } catch {
    /* ignore */
  }
}

let waiters: Array<(ok: boolean) => void> = []

/** Wait until the user has logged in again (true) or given up (false). */
export function awaitRelogin(): Promise<boolean> {
  session.expired = true
  return new Promise((resolve) => waiters.push(resolve))
}

/** Called by the re-login dialog. */
export function reloginDone(ok: boolean): void {
  session.expired = false
  const pending = waiters
  waiters = []
  for (const w of pending) w(ok)
}

export function clearSession(): void {
  setToken(null)
  session.user = null
}
