/**
 * Every problem code the server can raise has a message in the Chinese (and English)
 * catalogue: the codes are collected from the Python sources (`code="…"` arguments,
 * `code = "…"` / `status, code, title = …` class attributes, the HTTP status table).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import zhCN from '../src/i18n/zh-CN'
import en from '../src/i18n/en'
import { ApiError, problemMessage } from '../src/lib/problem'
import { has, setLocale, t } from '../src/i18n'

const ROOT = resolve(__dirname, '../..')
const PACKAGES = ['telemed', 'dicom', 'scheduling', 'referrals']

function pythonFiles(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (name === 'migrations' || name === '__pycache__') continue
    if (statSync(path).isDirectory()) out.push(...pythonFiles(path))
    else if (name.endsWith('.py')) out.push(path)
  }
  return out
}

/** The problem codes written in the server's sources, with a file each was found in. */
export function serverCodes(): Map<string, string> {
  const codes = new Map<string, string>()
  const patterns = [
    /\bcode="([a-z][a-z0-9_]*)"/g, // raise Conflict("…", code="slot_full")
    /^\s+(?:status, )?code(?:, title)? = (?:\d+, )?"([a-z][a-z0-9_]*)"/gm, // class attributes
    /^\s+\d{3}: \("([a-z][a-z0-9_]*)", "/gm, // _HTTP_CODES of telemed.core.errors
  ]
  for (const pkg of PACKAGES) {
    for (const file of pythonFiles(join(ROOT, pkg))) {
      const text = readFileSync(file, 'utf8')
      for (const pattern of patterns) {
        for (const m of text.matchAll(pattern)) if (!codes.has(m[1])) codes.set(m[1], file.slice(ROOT.length + 1))
      }
    }
  }
  return codes
}

describe('problem codes of the server', () => {
  const codes = serverCodes()

  it('are collected from the sources (the collector finds the known ones)', () => {
    for (const known of ['slot_full', 'invalid', 'not_found', 'invalid_transition', 'room_closed', 'unknown_search_parameter']) {
      expect(codes.has(known), known).toBe(true)
    }
    expect(codes.size).toBeGreaterThan(100)
  })

  it('each has a Chinese and an English message', () => {
    const zh = zhCN.errors as Record<string, string>
    const english = en.errors as Record<string, string>
    const missingZh = [...codes].filter(([c]) => !(c in zh)).map(([c, f]) => `${c} (${f})`)
    const missingEn = [...codes].filter(([c]) => !(c in english)).map(([c, f]) => `${c} (${f})`)
    expect(missingZh, 'codes without a zh-CN text in src/i18n/zh-CN/errors.ts').toEqual([])
    expect(missingEn, 'codes without an English text in src/i18n/en/errors.ts').toEqual([])
  })

  it('no Chinese message is English prose (abbreviations such as PACS, AE are names)', () => {
    const zh = zhCN.errors as Record<string, string>
    const latin = Object.entries(zh).filter(([, text]) => /[A-Za-z]*[a-z][A-Za-z]*/.test(text.replace(/\{\w+\}/g, '')))
    expect(latin).toEqual([])
  })

  it('a code without a text is shown generically with the code, never the detail', () => {
    setLocale('zh-CN')
    const err = new ApiError({ status: 409, code: 'brand_new_code', detail: 'starts_at and ends_at are required' })
    const shown = problemMessage(err, t, has)
    expect(shown).toContain('brand_new_code')
    expect(shown).toContain('409')
    expect(shown).not.toContain('required')
  })
})
