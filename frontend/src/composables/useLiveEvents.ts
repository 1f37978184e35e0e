/**
 * The tab's one push channel (`GET /api/v1/events`, fetch + ReadableStream with the bearer
 * token), shared by every view: `live.unread` feeds the menu's badge; views register a
 * handler with `onLiveEvent` (removed when they unmount) and refresh what changed.
 * Reconnects with backoff (lib/room.ts) and Last-Event-ID; stops on logout or when the
 * server ends the stream for an invalid token (a new login starts it again).
 */
import { getCurrentInstance, onUnmounted, reactive, watch } from 'vue'
import { api, API_BASE } from '../lib/api'
import { backoffDelay } from '../lib/room'
import { session } from '../lib/session'
import { SseParser, toLiveEvent, type LiveEvent } from '../lib/sse'

/** `connected`: the stream delivers (its first event, the unread count, arrived). */
export const live = reactive({ unread: null as number | null, connected: false })

type Handler = (e: LiveEvent) => void
const handlers = new Set<Handler>()
let controller: AbortController | null = null
let attempt = 0
let lastId: string | null = null
let timer: ReturnType<typeof setTimeout> | null = null
let started = false

function emit(e: LiveEvent) {
  if (e.type === 'notification') live.unread = e.data.unread
  if (e.type === 'unread') live.unread = e.data.unread
  for (const h of [...handlers]) h(e)
}

async function connect(token: string) {
  const abort = new AbortController()
  controller = abort
  const parser = new SseParser()
  let ended = false
  try {
    const headers: Record<string, string> = { Accept: 'text/event-stream', Authorization: `Bearer ${token}` }
    if (lastId) headers['Last-Event-ID'] = lastId
    const res = await fetch(`${API_BASE}/events`, { headers, signal: abort.signal, cache: 'no-store' })
    if (res.status === 401 || res.status === 403) return // a new token starts it again
    if (!res.ok || !res.body) throw new Error(`events: ${res.status}`)
    attempt = 0
    emit({ type: 'open' }) // views refetch: what changed while we were away
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      for (const raw of parser.feed(value)) {
        const e = toLiveEvent(raw)
        if (!e) continue
        if (e.type === 'end') ended = true
        live.connected = e.type !== 'end' // delivering: the server sent its first event
        emit(e)
      }
      lastId = parser.lastId ?? lastId
    }
  } catch {
    if (abort.signal.aborted) return
  } finally {
    if (controller === abort) live.connected = false
  }
  if (abort.signal.aborted || ended || session.token !== token) return
  const delay = parser.retry !== null && attempt === 0 ? parser.retry : backoffDelay(attempt)
  attempt += 1
  timer = setTimeout(() => {
    timer = null
    if (session.token === token) void connect(token)
  }, delay)
}

function stop() {
  controller?.abort()
  controller = null
  if (timer) clearTimeout(timer)
  timer = null
  live.connected = false
}

/** Start the channel for the logged-in user (App.vue, once); follows the token. */
export function startLiveEvents(): void {
  if (started) return
  started = true
  watch(
    () => session.token,
    (token) => {
      stop()
      live.unread = null
      lastId = null
      attempt = 0
      if (!token) return
      void connect(token)
      // the count by REST as well: the badge is right even where the stream is blocked
      api.get<{ unread: number }>('/notifications/unread-count').then(
        (r) => {
          if (session.token === token && live.unread === null) live.unread = r.unread
        },
        () => undefined,
      )
    },
    { immediate: true },
  )
}

/** Call `handler` on every live event while the calling component is mounted. */
export function onLiveEvent(handler: Handler): () => void {
  handlers.add(handler)
  const off = () => handlers.delete(handler)
  if (getCurrentInstance()) onUnmounted(off)
  return off
}
