/**
 * Traditional Mongolian catalogue (mn-Mong), one file per feature: the patient's pages (shell
 * and menu, booking and appointments, referrals, family-doctor contract, my record, notifications) and
 * the errors a patient meets. DRAFTED WITHOUT A NATIVE REVIEWER (see ../mn-Mong.glossary.md).
 * Partial by design: a key missing here falls back to Chinese, never to English.
 */
import type { Messages } from '../zh-CN'
import type { DeepPartial } from './types'
import shell from './shell'
import booking from './booking'
import referrals from './referrals'
import family from './family'
import patients from './patients'
import errors from './errors'

export type PartialMessages = DeepPartial<Messages>

const mnMong: PartialMessages = { ...shell, ...booking, ...referrals, ...family, ...patients, ...errors }

export default mnMong
