/** A small i18n: two catalogues, a reactive locale, `t(key, params)` with {name} placeholders. */
import { ref, computed } from 'vue'
import zhCN, { type Messages } from './zh-CN'
import en from './en'

export type Locale = 'zh-CN' | 'en'
export const LOCALES: Locale[] = ['zh-CN', 'en']
export const catalogues: Record<Locale, Messages> = { 'zh-CN': zhCN, en }

const STORAGE_KEY = 'telemed.locale'

function initialLocale(): Locale {
  try {
    const saved = globalThis.localStorage?.getItem(STORAGE_KEY)
    if (saved === 'zh-CN' || saved === 'en') return saved
  } catch {
    /* storage unavailable (tests, private mode) */
  }
  return 'zh-CN'
}

export const locale = ref<Locale>(initialLocale())

export function setLocale(value: Locale): void {
  locale.value = value
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, value)
  } catch {
    /* ignore */
  }
  if (typeof document !== 'undefined') document.documentElement.lang = value
}

/** Look up a dotted key in a catalogue; undefined when absent. */
export function lookup(messages: unknown, key: string): string | undefined {
  let node: unknown = messages
  for (const part of key.split('.')) {
    if (node && typeof node === 'object' && part in (node as Record<string, unknown>)) {
      node = (node as Record<string, unknown>)[part]
    } else {
      return undefined
    }
  }
  return typeof node === 'string' ? node : undefined
}

export function has(key: string): boolean {
  return lookup(catalogues[locale.value], key) !== undefined
}

/** Translate `key` in the current locale; `{name}` placeholders take `params`. */
export function t(key: string, params: Record<string, string | number> = {}): string {
  const text = lookup(catalogues[locale.value], key) ?? lookup(zhCN, key) ?? key
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m))
}

export const isZh = computed(() => locale.value === 'zh-CN')
