import { describe, expect, it } from 'vitest'
import { newItems, stowBody, studyFromStowResponse } from '../src/lib/upload'

describe('STOW-RS upload', () => {
  it('reads the study UID from the RetrieveURL', () => {
    const body = { '00081190': { vr: 'UR', Value: ['http://h/dicom-web/studies/1.2.840.99'] } }
    expect(studyFromStowResponse(body)).toBe('1.2.840.99')
    expect(studyFromStowResponse({})).toBe('')
    expect(studyFromStowResponse(null)).toBe('')
  })

  it('skips empty and hidden files of a folder', () => {
    const files = [new File(['x'], 'IM1'), new File([], 'empty'), new File(['y'], '.DS_Store')]
    expect(newItems(files).map((i) => i.name)).toEqual(['IM1'])
  })

  it('wraps one file in a multipart/related body', async () => {
    const text = await stowBody(new Blob(['DICM']), 'B').text()
    expect(text).toBe('--B\r\nContent-Type: application/dicom\r\n\r\nDICM\r\n--B--\r\n')
  })
})
