/**
 * A small i18n: three catalogues, a reactive locale, `t(key, params)` with {name} placeholders.
 * Chinese is complete; English has its shape; Mongolian (traditional script) is partial and
 * every key it lacks falls back to Chinese, never to English.
 */
import { ref, computed } from 'vue'
import zhCN, { type Messages } from './zh-CN'
import en from './en'
import mnMong, { type PartialMessages } from './mn-Mong'

export type Locale = 'zh-CN' | 'en' | 'mn-Mong'
export const LOCALES: Locale[] = ['zh-CN', 'en', 'mn-Mong']
/** The locales whose catalogue has every key (Mongolian is partial and falls back to Chinese). */
export const FULL_LOCALES: Locale[] = ['zh-CN', 'en']
export const catalogues: { 'zh-CN': Messages; en: Messages; 'mn-Mong': PartialMessages } = {
  'zh-CN': zhCN,
  en,
  'mn-Mong': mnMong,
}

const STORAGE_KEY = 'telemed.locale'

export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (LOCALES as string[]).includes(value)
}

function initialLocale(): Locale {
  try {
    const saved = globalThis.localStorage?.getItem(STORAGE_KEY)
    if (isLocale(saved)) return saved
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

/** True when the key has a text in the current locale (or in Chinese, its fallback). */
export function has(key: string): boolean {
  return (lookup(catalogues[locale.value], key) ?? lookup(zhCN, key)) !== undefined
}

/** Translate `key` in the current locale, else in Chinese; `{name}` placeholders take `params`. */
export function t(key: string, params: Record<string, string | number> = {}): string {
  const text = lookup(catalogues[locale.value], key) ?? lookup(zhCN, key) ?? key
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m))
}

/** Reference data (hospitals, ICD-10 terms, packages) has Chinese and English names: every
 * locale but English shows the Chinese one (Mongolian texts embed Chinese names as they are). */
export const isZh = computed(() => locale.value !== 'en')

/** The locale is written top to bottom (traditional Mongolian). */
export const isVertical = computed(() => locale.value === 'mn-Mong')
