/** The patient's informed consent as the wizard records it (docs/consultations.md, Consent). */

/** The ways a consent is given that the wizard offers (`signed_form` needs a scanned form). */
export const CONSENT_METHODS = ['verbal', 'written', 'on_screen'] as const
export type ConsentMethod = (typeof CONSENT_METHODS)[number]

export interface ConsentDraft {
  agreed: boolean
  given_by: string
  relationship: string
  method: ConsentMethod
  witness: string
  /** on_screen: the drawn signature as a PNG data URL, null until signed */
  signature_png: string | null
  note: string
}

export interface ConsentRecord {
  id: string
  given_by: string
  relationship: string
  method: string
  given_at: string
  witness: string
  note: string
  has_signature: boolean
}

/** The fields the method still lacks, as i18n keys by field. */
export function consentGaps(c: Pick<ConsentDraft, 'method' | 'witness' | 'signature_png'>): Record<string, string> {
  const out: Record<string, string> = {}
  if (c.method === 'written' && !c.witness.trim()) out.witness = 'consult.witnessRequired'
  if (c.method === 'on_screen' && !c.signature_png) out.signature_png = 'consult.signatureRequired'
  return out
}

/** The consent body of `POST /consultations` (or `…/{id}/consent`). */
export function consentBody(c: ConsentDraft, givenAt: Date): Record<string, unknown> {
  return {
    given_by: c.given_by.trim(),
    relationship: c.relationship,
    method: c.method,
    given_at: givenAt.toISOString(),
    note: c.note.trim(),
    ...(c.method === 'written' ? { witness: c.witness.trim() } : {}),
    ...(c.method === 'on_screen' ? { signature_png: c.signature_png } : {}),
  }
}
