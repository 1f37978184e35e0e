/**
 * Which reader opens an instance, by SOP Class UID: the ECG reader for waveforms (PS3.3
 * A.34 ECG IODs), the slide viewer for VL Whole Slide Microscopy, the image stack otherwise.
 * The viewer's one entry point asks this.
 */
export type Reader = 'ecg' | 'slide' | 'stack'

/** 12-lead, General, Ambulatory ECG Waveform Storage (1.2.840.10008.5.1.4.1.1.9.1.1–3). */
export const ECG_SOP_CLASSES = [
  '1.2.840.10008.5.1.4.1.1.9.1.1',
  '1.2.840.10008.5.1.4.1.1.9.1.2',
  '1.2.840.10008.5.1.4.1.1.9.1.3',
]
export const WHOLE_SLIDE_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.77.1.6'

export function readerFor(sopClassUid: string | null | undefined): Reader {
  const uid = (sopClassUid ?? '').trim()
  if (ECG_SOP_CLASSES.includes(uid)) return 'ecg'
  if (uid === WHOLE_SLIDE_SOP_CLASS) return 'slide'
  return 'stack'
}

/** The route of a reader for a study (the ECG reader has its own page). */
export function readerRoute(reader: Reader, studyUid: string): string {
  return reader === 'ecg' ? `/ecg/${studyUid}` : `/viewer/${studyUid}`
}
