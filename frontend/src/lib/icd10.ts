/**
 * The ICD-10 picker's logic, kept out of the component so it can be tested without a DOM:
 * which term to search for, what a pick does to the text, the listbox's keyboard state,
 * highlighting the matched part of a name, and the debounce.
 */
import type { Schemas } from './api'

export type Icd10Code = Schemas['Icd10Public']

export const ICD10_SHAPE = /^[A-TV-Z][0-9][0-9AB](\.[0-9A-Z]{1,4})?$/
export const MAX_TERM = 50

/** The term being typed: the whole text, or (several codes) the part after the last comma. */
export function currentTerm(text: string, multiple = false): string {
  const part = multiple ? text.slice(lastSeparator(text) + 1) : text
  return part.trim()
}

function lastSeparator(text: string): number {
  return Math.max(text.lastIndexOf(','), text.lastIndexOf('，'))
}

/** Whether a term is worth a request (the server refuses empty or over-long ones). */
export function searchable(term: string): boolean {
  return term.length > 0 && term.length <= MAX_TERM
}

/** The text after picking `code`: it replaces the term being typed. */
export function applyPick(text: string, code: string, multiple = false): string {
  if (!multiple) return code
  const head = text.slice(0, lastSeparator(text) + 1)
  const kept = head.replace(/[,，]\s*$/, '').trim()
  return kept ? `${kept}, ${code}` : code
}

/** The name to show in the current language (falls back to the other one). */
export function codeName(item: Icd10Code, zh: boolean): string {
  return (zh ? item.name_zh || item.name_en : item.name_en || item.name_zh) || ''
}

export interface ListState {
  open: boolean
  /** index of the highlighted option, -1 for none */
  active: number
}

export type KeyEffect = 'none' | 'pick' | 'close'

/**
 * What a key does to the listbox of `count` options.
 * `handled` tells the component to prevent the key's default (cursor move, form submit).
 */
export function onKey(
  state: ListState,
  key: string,
  count: number,
): { state: ListState; effect: KeyEffect; handled: boolean } {
  if (key === 'ArrowDown' || key === 'ArrowUp') {
    if (count === 0) return { state, effect: 'none', handled: false }
    const step = key === 'ArrowDown' ? 1 : -1
    let active: number
    if (!state.open || state.active < 0) active = step > 0 ? 0 : count - 1
    else active = (state.active + step + count) % count
    return { state: { open: true, active }, effect: 'none', handled: true }
  }
  if (key === 'Enter') {
    if (state.open && state.active >= 0 && state.active < count) {
      return { state: { open: false, active: -1 }, effect: 'pick', handled: true }
    }
    return { state, effect: 'none', handled: false }
  }
  if (key === 'Escape') {
    if (!state.open) return { state, effect: 'none', handled: false }
    return { state: { open: false, active: -1 }, effect: 'close', handled: true }
  }
  return { state, effect: 'none', handled: false }
}

/** `label` cut into pieces, `match` marking where `term` occurs (case-insensitive). */
export function highlight(label: string, term: string): { text: string; match: boolean }[] {
  const q = term.trim().toLowerCase()
  if (!q) return [{ text: label, match: false }]
  const out: { text: string; match: boolean }[] = []
  const lower = label.toLowerCase()
  let at = 0
  for (let i = lower.indexOf(q); i >= 0; i = lower.indexOf(q, at)) {
    if (i > at) out.push({ text: label.slice(at, i), match: false })
    out.push({ text: label.slice(i, i + q.length), match: true })
    at = i + q.length
  }
  if (at < label.length) out.push({ text: label.slice(at), match: false })
  return out
}

/** Call `fn` once `ms` after the last `call`; `cancel` drops a pending call. */
export function debounce<A extends unknown[]>(
  fn: (...args: A) => void,
  ms: number,
): { call: (...args: A) => void; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined
  return {
    call: (...args: A) => {
      if (timer !== undefined) clearTimeout(timer)
      timer = setTimeout(() => {
        timer = undefined
        fn(...args)
      }, ms)
    },
    cancel: () => {
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
    },
  }
}
