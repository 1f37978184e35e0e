/**
 * The imaging order of a request: the study the requesting hospital will acquire itself.
 * Sent as `imaging_order` when an imaging-diagnosis request is created; the server puts it
 * on the hospital's modality worklist (DICOM MWL) with our accession number.
 */
import { shanghaiToUtc } from './time'
import type { Schemas } from './api'

/** DICOM modality codes (PS3.3 C.7.3.1.1.1) a county hospital typically has. */
export const MODALITIES = ['CT', 'MR', 'DX', 'CR', 'US', 'MG', 'XA', 'RF', 'NM', 'PT'] as const

export interface ImagingOrderDraft {
  requested: boolean
  modality: string
  /** `datetime-local` value in Asia/Shanghai; empty: now */
  scheduled: string
  procedure: string
}

export type ImagingOrderBody = Schemas['ImagingOrder']

/** An order as the API lists it on the request. */
export type ImagingOrder = Schemas['ImagingOrderPublic']

export function emptyOrder(): ImagingOrderDraft {
  return { requested: false, modality: 'CT', scheduled: '', procedure: '' }
}

/**
 * The request body of a draft (null when no order is requested), or the message keys of
 * the fields that are wrong.
 */
export function orderBody(draft: ImagingOrderDraft): { body: ImagingOrderBody | null; errors: Record<string, string> } {
  if (!draft.requested) return { body: null, errors: {} }
  const errors: Record<string, string> = {}
  if (!(MODALITIES as readonly string[]).includes(draft.modality)) errors.modality = 'imagingOrder.modalityRequired'
  let scheduledAt: string | null = null
  if (draft.scheduled.trim()) {
    const m = draft.scheduled.match(/^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/)
    if (m) scheduledAt = shanghaiToUtc(m[1], m[2]).toISOString()
    else errors.scheduled_at = 'imagingOrder.timeInvalid'
  }
  const procedure = draft.procedure.trim()
  if (procedure.length > 64) errors.procedure = 'imagingOrder.procedureTooLong'
  if (Object.keys(errors).length) return { body: null, errors }
  return { body: { modality: draft.modality, scheduled_at: scheduledAt, procedure }, errors }
}
