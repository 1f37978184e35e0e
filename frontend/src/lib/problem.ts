/** RFC 9457 problem details from the API, turned into messages in the user's language. */

export interface FieldError {
  field: string
  message: string
}

export interface Problem {
  type?: string
  title?: string
  status: number
  detail?: string
  code?: string
  instance?: string
  errors?: FieldError[]
  [extra: string]: unknown
}

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly detail: string
  readonly problem: Problem

  constructor(problem: Problem) {
    super(problem.detail || problem.title || `HTTP ${problem.status}`)
    this.problem = problem
    this.status = problem.status
    this.code = problem.code || (problem.status === 0 ? 'network' : 'error')
    this.detail = problem.detail || ''
  }

  /** Field errors keyed by the last part of the field path ("body.resident_id" -> "resident_id"). */
  get fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {}
    for (const e of this.problem.errors ?? []) {
      const key = fieldKey(e.field)
      if (!(key in out)) out[key] = e.message
    }
    return out
  }
}

/** The form field a problem names: drop location prefixes and list indexes. */
export function fieldKey(path: string): string {
  const parts = path.split('.').filter((p) => !['body', 'query', 'path', 'header', 'form'].includes(p))
  const named = parts.filter((p) => !/^\d+$/.test(p))
  return named.length ? named[named.length - 1] : path
}

/** Build a problem from any response body (JSON problem, plain JSON or text). */
export function toProblem(status: number, body: unknown, fallbackText = ''): Problem {
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>
    const p: Problem = { ...(b as object), status: typeof b.status === 'number' ? b.status : status }
    if (typeof p.detail !== 'string') {
      // FastAPI's default {"detail": [...]} shape, in case a route bypasses our handlers.
      if (Array.isArray(b.detail)) {
        p.errors = (b.detail as Array<Record<string, unknown>>).map((e) => ({
          field: Array.isArray(e.loc) ? e.loc.join('.') : String(e.loc ?? ''),
          message: String(e.msg ?? ''),
        }))
        p.detail = p.errors.map((e) => `${e.field}: ${e.message}`).join('; ')
      } else {
        p.detail = fallbackText
      }
    }
    return p
  }
  return { status, detail: fallbackText || (typeof body === 'string' ? body : '') }
}

const STANDARD_MEMBERS = new Set(['type', 'title', 'status', 'detail', 'code', 'instance', 'errors'])

/**
 * The parameters a catalogue text of a problem may use: the problem's own scalar members
 * (`current_state`, `action`, `retry_after`…), and `field`, the first field it names.
 */
export function problemParams(problem: Problem): Record<string, string | number> {
  const out: Record<string, string | number> = {}
  for (const [name, value] of Object.entries(problem)) {
    if (STANDARD_MEMBERS.has(name)) continue
    if (typeof value === 'string' || typeof value === 'number') out[name] = value
  }
  const first = problem.errors?.[0]
  if (first && !('field' in out)) out.field = fieldKey(first.field)
  out.status = problem.status
  out.code = problem.code ?? ''
  return out
}

/**
 * The message to show for an error: the catalogue's text for its code (filled with the
 * problem's parameters) when there is one, else a generic one with the status and the
 * code; never the server's English `detail`. `translate` and `has` come from the i18n module.
 */
export function problemMessage(
  err: unknown,
  translate: (key: string, params?: Record<string, string | number>) => string,
  has: (key: string) => boolean,
): string {
  if (err instanceof ApiError) {
    if (has(`errors.${err.code}`)) return translate(`errors.${err.code}`, problemParams(err.problem))
    if (err.status === 0) return translate('errors.network')
    if (err.problem.code) return translate('errors.genericCode', { status: err.status, code: err.code })
    return translate('errors.generic', { status: err.status })
  }
  return translate('errors.generic', { status: '?' })
}
