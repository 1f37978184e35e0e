import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { FULL_LOCALES as LOCALES, catalogues, lookup, setLocale, t } from '../src/i18n'
import { FINAL_CLOSE_CODES, shouldReconnect, signalingErrorText } from '../src/lib/room'

const VIDEO_DOC = readFileSync(join(__dirname, '..', '..', 'docs', 'video.md'), 'utf8')

/** The first column of the markdown table whose header starts with `header`. */
function tableColumn(header: string): string[] {
  const lines = VIDEO_DOC.split('\n')
  const start = lines.findIndex((l) => l.startsWith(`| ${header} |`))
  expect(start, `docs/video.md has a table "| ${header} |"`).toBeGreaterThan(-1)
  const rows: string[] = []
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break
    rows.push(line.split('|')[1].trim().replace(/`/g, ''))
  }
  return rows
}

afterEach(() => setLocale('zh-CN'))

describe('signaling errors of the room page', () => {
  const codes = tableColumn('Error code')

  it('reads the codes the server sends from the docs', () => {
    // the refusals of issue 15 are among them
    for (const code of ['no_offer', 'unknown_peer', 'not_recording', 'not_waiting', 'invalid']) {
      expect(codes).toContain(code)
    }
    expect(codes.length).toBeGreaterThanOrEqual(19)
    expect(codes.every((c) => /^[a-z_]+$/.test(c))).toBe(true)
  })

  it.each(LOCALES)('has a text for every error code in the docs (%s)', (loc) => {
    const missing = codes.filter((c) => !lookup(catalogues[loc], `room.errors.${c}`)?.trim())
    expect(missing).toEqual([])
  })

  it('shows the chat length refusal with its limit, not as a bare "invalid"', () => {
    const shown = signalingErrorText({ code: 'invalid', detail: 'chat text must be 1-2000 characters (got 2001)', max_chars: 2000 })
    expect(shown).toEqual({ key: 'chat_length', params: { max: 2000 } })
    for (const loc of LOCALES) {
      setLocale(loc)
      const text = t(`room.errors.${shown.key}`, shown.params)
      expect(text).toContain('2000')
      expect(text).not.toContain('{max}')
      expect(text).not.toBe(t('room.errors.invalid'))
    }
    expect(signalingErrorText({ code: 'invalid', detail: 'the server peer makes the offers' })).toEqual({ key: 'invalid', params: {} })
    expect(signalingErrorText({ code: 'no_offer' }).key).toBe('no_offer')
  })

  it('says something different for each code', () => {
    for (const loc of LOCALES) {
      const texts = codes.map((c) => lookup(catalogues[loc], `room.errors.${c}`))
      expect(new Set(texts).size).toBe(texts.length)
    }
  })
})

describe('close codes of the room page', () => {
  const closeCodes = tableColumn('Close code').map(Number)

  it('has a text for every final close code in the docs, and reconnects on the others', () => {
    expect(closeCodes).toContain(4404)
    for (const code of closeCodes) {
      const name = FINAL_CLOSE_CODES[code]
      if (name === undefined) {
        expect(shouldReconnect(code, false), `close code ${code}`).toBe(true)
        continue
      }
      for (const loc of LOCALES) {
        expect(lookup(catalogues[loc], `room.errors.closed_${name}`), `${loc} closed_${name}`).toBeTruthy()
      }
    }
    // every final code the page knows is documented
    expect(Object.keys(FINAL_CLOSE_CODES).map(Number).every((c) => closeCodes.includes(c))).toBe(true)
  })
})
