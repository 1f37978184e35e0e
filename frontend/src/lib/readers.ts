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

/** The reader of a series by its modality (what QIDO-RS answers for a series): ECG for
 * waveforms, SM (slide microscopy) for whole slides, the image stack otherwise. */
export function readerForModality(modality: string | null | undefined): Reader {
  const m = (modality ?? '').trim().toUpperCase()
  if (m === 'ECG') return 'ecg'
  if (m === 'SM') return 'slide'
  return 'stack'
}

/** The reader of a whole study: ECG or slide when every series is one, else the stack. */
export function readerForStudy(modalities: (string | null | undefined)[]): Reader {
  const readers = new Set(modalities.map(readerForModality))
  return readers.size === 1 ? [...readers][0] : 'stack'
}

/** The route of a reader for a study (the ECG reader and the slide viewer have their own pages). */
export function readerRoute(reader: Reader, studyUid: string): string {
  if (reader === 'ecg') return `/ecg/${studyUid}`
  if (reader === 'slide') return `/slide/${studyUid}`
  return `/viewer/${studyUid}`
}
