/** The admin outbox (`/api/v1/admin/outbox`): messages not (yet) delivered. */
import { t } from '../i18n'
import type { Schemas } from './api'

/** One outbox message as the admin API shows it (never the full number, no text). An SMS
 * is addressed to a patient (`patient_id`, phone masked); `user_id` names an account (an
 * SMS queued before the patient addressing, resolved to its patient by the server). */
export type OutboxItem = Schemas['OutboxItemPublic']

/** Whom the message is for, as the admin reads it: the patient and their masked phone. */
export function recipientLabel(m: OutboxItem): string {
  if (m.patient_id) {
    return m.phone_masked ? t('outbox.toPatient', { phone: m.phone_masked }) : t('outbox.toPatientNoPhone')
  }
  return t('outbox.toAccount')
}
