/** Resident identity card number (居民身份证号码), GB 11643-1999, as the server checks it. */

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
const CHECK = '10X98765432'

/** The ISO 7064 MOD 11-2 check character of the first 17 digits. */
export function checkDigit(first17: string): string {
  let sum = 0
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i]
  return CHECK[sum % 11]
}

export type ResidentIdProblem =
  | { code: 'length'; length: number }
  | { code: 'format' }
  | { code: 'birth_date'; value: string }
  | { code: 'check_digit'; got: string; expected: string }

export interface ResidentIdInfo {
  number: string
  birthDate: string
  sex: 'male' | 'female'
  regionCode: string
}

export type ResidentIdResult = { ok: true; value: ResidentIdInfo } | { ok: false; problem: ResidentIdProblem }

/** Validate an 18-character resident ID; say why it is refused (message keys live in the catalogue). */
export function parseResidentId(input: string, today: Date = new Date()): ResidentIdResult {
  const number = input.trim().toUpperCase()
  if (number.length !== 18) return { ok: false, problem: { code: 'length', length: number.length } }
  if (!/^\d{17}[\dX]$/.test(number)) return { ok: false, problem: { code: 'format' } }
  const y = Number(number.slice(6, 10))
  const m = Number(number.slice(10, 12))
  const d = Number(number.slice(12, 14))
  const born = new Date(Date.UTC(y, m - 1, d))
  const real = born.getUTCFullYear() === y && born.getUTCMonth() === m - 1 && born.getUTCDate() === d
  if (!real || y < 1880 || born.getTime() > today.getTime()) {
    return { ok: false, problem: { code: 'birth_date', value: number.slice(6, 14) } }
  }
  const expected = checkDigit(number.slice(0, 17))
  if (number[17] !== expected) {
    return { ok: false, problem: { code: 'check_digit', got: number[17], expected } }
  }
  return {
    ok: true,
    value: {
      number,
      birthDate: `${number.slice(6, 10)}-${number.slice(10, 12)}-${number.slice(12, 14)}`,
      sex: Number(number[16]) % 2 ? 'male' : 'female',
      regionCode: number.slice(0, 6),
    },
  }
}
