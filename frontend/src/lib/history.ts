/** History entries (a consultation's transitions, a referral's events): the reason a
 * person typed is shown as written; a reason the server gives itself is a code in
 * `data.reason_code`, shown from the catalogue (`historyReason.<code>`). */

export interface HistoryEntry {
  reason?: string | null
  data?: Record<string, unknown>
}

export function historyReason(
  entry: HistoryEntry,
  translate: (key: string, params?: Record<string, string | number>) => string,
  has: (key: string) => boolean,
): string {
  const code = entry.data?.reason_code
  if (typeof code === 'string' && code) {
    return has(`historyReason.${code}`) ? translate(`historyReason.${code}`) : translate('historyReason.other', { code })
  }
  return entry.reason ?? ''
}
