import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { catalogues, lookup, setLocale, t } from '../src/i18n'

function keys(node: unknown, prefix = ''): string[] {
  if (typeof node === 'string') return [prefix]
  return Object.entries(node as Record<string, unknown>).flatMap(([k, v]) => keys(v, prefix ? `${prefix}.${k}` : k))
}

function files(dir: string, ext: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? files(p, ext) : p.endsWith(ext) ? [p] : []
  })
}

const SRC = join(__dirname, '..', 'src')

/** Template text outside {{ }} and unbound attribute values that a person would read. */
function literalsIn(sfc: string): string[] {
  const m = sfc.match(/<template>([\s\S]*)<\/template>\s*(<style|$)/)
  if (!m) return []
  let tpl = m[1].replace(/<!--[\s\S]*?-->/g, '')
  const found: string[] = []
  for (const attr of tpl.matchAll(/\s(placeholder|title|aria-label|alt|label)="([^"]*)"/g)) {
    if (/[A-Za-z\u4e00-\u9fff]/.test(attr[2])) found.push(`${attr[1]}="${attr[2]}"`)
  }
  tpl = tpl.replace(/\{\{[\s\S]*?\}\}/g, ' ').replace(/<[^>"']*(?:(?:"[^"]*"|'[^']*')[^>"']*)*>/g, ' ')
  for (const text of tpl.split(/\s{2,}|\n/)) {
    const s = text.trim()
    if (/[A-Za-z\u4e00-\u9fff]/.test(s)) found.push(s)
  }
  return found
}

describe('i18n catalogue', () => {
  it('has the same keys in Chinese and English', () => {
    expect(keys(catalogues.en).sort()).toEqual(keys(catalogues['zh-CN']).sort())
  })

  it('has no empty message and the same placeholders in both languages', () => {
    for (const key of keys(catalogues['zh-CN'])) {
      const zh = lookup(catalogues['zh-CN'], key) ?? ''
      const en = lookup(catalogues.en, key) ?? ''
      expect(zh, key).not.toBe('')
      expect(en, key).not.toBe('')
      const ph = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((x) => x[1]).sort()
      expect(ph(en), key).toEqual(ph(zh))
    }
  })

  it('defaults to Simplified Chinese and switches to English', () => {
    setLocale('zh-CN')
    expect(t('nav.home')).toBe('首页')
    setLocale('en')
    expect(t('home.welcome', { name: 'Li' })).toBe('Hello, Li')
    setLocale('zh-CN')
  })

  it('finds no hard-coded text in component templates', () => {
    const offenders: string[] = []
    for (const f of files(SRC, '.vue')) {
      for (const lit of literalsIn(readFileSync(f, 'utf8'))) offenders.push(`${f.slice(SRC.length + 1)}: ${lit}`)
    }
    expect(offenders).toEqual([])
  })

  it('uses only keys that exist in the catalogue', () => {
    const missing: string[] = []
    for (const f of [...files(SRC, '.vue'), ...files(SRC, '.ts')]) {
      const src = readFileSync(f, 'utf8')
      for (const m of src.matchAll(/\$?\bt\(\s*'([a-zA-Z0-9_.-]+)'/g)) {
        if (lookup(catalogues['zh-CN'], m[1]) === undefined) missing.push(`${f.slice(SRC.length + 1)}: ${m[1]}`)
      }
    }
    expect(missing).toEqual([])
  })

  it('finds no Chinese text in scripts outside the catalogue', () => {
    const offenders: string[] = []
    for (const f of [...files(SRC, '.vue'), ...files(SRC, '.ts')]) {
      if (f.includes(`${join('src', 'i18n')}`)) continue
      const code = readFileSync(f, 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/\/\/.*$/gm, '')
        .replace(/<!--[\s\S]*?-->/g, '')
      if (/[\u4e00-\u9fff]/.test(code)) offenders.push(f.slice(SRC.length + 1))
    }
    expect(offenders).toEqual([])
  })
})
