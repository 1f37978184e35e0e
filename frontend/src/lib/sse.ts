/**
 * Server-Sent Events read from a fetch() body (the push channel `GET /api/v1/events`
 * takes the bearer token in a header, which an EventSource cannot send): the parser of
 * the text/event-stream format and the shapes of our events (docs/api.md, "Live events").
 */

export interface SseEvent {
  event: string
  id: string | null
  data: string
}

/** Feed decoded text as it arrives; complete events come out (comments are dropped). */
export class SseParser {
  private buffer = ''
  private fields: { event?: string; id?: string; data: string[] } = { data: [] }
  /** The last `id:` seen (what a reconnect sends as Last-Event-ID). */
  lastId: string | null = null
  /** The server's `retry:` (ms), if it sent one. */
  retry: number | null = null

  feed(text: string): SseEvent[] {
    this.buffer += text
    const out: SseEvent[] = []
    let nl: number
    while ((nl = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buffer.slice(0, nl)
      const sep = this.buffer.startsWith('\r\n', nl) ? 2 : 1
      // a lone \r at the end may be the first half of \r\n: wait for more
      if (sep === 1 && this.buffer[nl] === '\r' && nl === this.buffer.length - 1) break
      this.buffer = this.buffer.slice(nl + sep)
      const ev = this.line(line)
      if (ev) out.push(ev)
    }
    return out
  }

  private line(line: string): SseEvent | null {
    if (line === '') {
      const f = this.fields
      this.fields = { data: [] }
      if (!f.data.length && f.event === undefined) return null
      if (f.id !== undefined) this.lastId = f.id
      return { event: f.event ?? 'message', id: f.id ?? this.lastId, data: f.data.join('\n') }
    }
    if (line.startsWith(':')) return null
    const colon = line.indexOf(':')
    const name = colon < 0 ? line : line.slice(0, colon)
    let value = colon < 0 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (name === 'event') this.fields.event = value
    else if (name === 'data') this.fields.data.push(value)
    else if (name === 'id') this.fields.id = value
    else if (name === 'retry' && /^\d+$/.test(value)) this.retry = Number(value)
    return null
  }
}

/** A new in-app notification of mine, with my unread count after it. */
export interface NotificationEvent { id: string; kind: string; unread: number }
/** A consultation or referral I may see was created or changed state (`resync`: refetch all). */
export interface WorklistEvent { kind: 'consultation' | 'referral' | null; id: string | null; change: string }

export type LiveEvent =
  | { type: 'notification'; data: NotificationEvent }
  | { type: 'unread'; data: { unread: number } }
  | { type: 'worklist'; data: WorklistEvent }
  | { type: 'end'; data: { reason: string } }
  | { type: 'open' }

/** Our event from a parsed SSE event (unknown names and bad JSON: null). */
export function toLiveEvent(ev: SseEvent): LiveEvent | null {
  if (!['notification', 'unread', 'worklist', 'end'].includes(ev.event)) return null
  try {
    return { type: ev.event, data: JSON.parse(ev.data) } as LiveEvent
  } catch {
    return null
  }
}

/** Where a notification leads in the app (its `data.link`, else what its data names). */
export function notificationTarget(data: Record<string, unknown> | undefined): string | null {
  const link = data?.link as { kind?: string; id?: string } | undefined
  const kind = link?.kind ?? (data?.consultation_id ? 'consultation' : data?.referral_id ? 'referral' : data?.booking_id ? 'booking' : null)
  const id = link?.id ?? ((data?.consultation_id ?? data?.referral_id ?? data?.booking_id) as string | undefined)
  if (kind === 'consultation' && id) return `/consultations/${id}`
  if (kind === 'referral' && id) return `/referrals?open=${encodeURIComponent(id)}`
  if (kind === 'booking') return '/appointments'
  return null
}
