import { describe, expect, it } from 'vitest'
import { handleOrder, parseImageId, scoordOrder } from '../src/lib/measurements'
import { ageYears, directionLetters, orientationMarkers } from '../src/lib/viewerSeries'
import { demographicMismatches } from '../src/lib/readingContext'

describe('reading workstation helpers', () => {
  it('reads series, instance and frame from a wadors image id', () => {
    expect(parseImageId('wadors:http://h/dicom-web/studies/1.2/series/1.3/instances/1.4/frames/2')).toEqual({ series: '1.3', sop: '1.4', frame: 2 })
    expect(parseImageId('wadouri:x')).toBeNull()
  })
  it('orders handles as the SR wants them', () => {
    expect(scoordOrder('ellipse_roi', [[5, 0], [5, 4], [0, 2], [10, 2]])).toEqual([[0, 2], [10, 2], [5, 0], [5, 4]])
    expect(scoordOrder('rectangle_roi', [[0, 0], [4, 0], [0, 3], [4, 3]])).toEqual([[0, 0], [4, 0], [4, 3], [0, 3]])
    expect(scoordOrder('arrow', [[9, 9], [1, 1]])).toEqual([[1, 1], [9, 9]])
  })
  it('puts saved SR points back in the handle order of each tool', () => {
    const cs = {
      ellipse_roi: [[5, 0], [5, 4], [0, 2], [10, 2]],
      rectangle_roi: [[0, 0], [4, 0], [0, 3], [4, 3]],
      arrow: [[9, 9], [1, 1]],
      length: [[1, 2], [3, 4]],
    } as const
    for (const [kind, points] of Object.entries(cs)) {
      const k = kind as keyof typeof cs
      const p = points.map((x) => [...x] as [number, number])
      expect(handleOrder(k, scoordOrder(k, p))).toEqual(p)
    }
    // an ellipse wider than tall: the SR's major axis first, Cornerstone's top and bottom first
    expect(handleOrder('ellipse_roi', [[0, 2], [10, 2], [5, 4], [5, 0]])).toEqual([[5, 0], [5, 4], [0, 2], [10, 2]])
  })
  it('names screen edges of an axial view: anterior up, patient left on the right', () => {
    expect(orientationMarkers([0, -1, 0], [0, 0, -1])).toEqual({ top: 'A', bottom: 'P', right: 'L', left: 'R' })
    expect(directionLetters([0.7, 0, 0.7])).toMatch(/^(LS|SL)$/)
  })
  it('computes the age on the study date', () => {
    const meta = { '00100030': { vr: 'DA', Value: ['19650601'] }, '00080020': { vr: 'DA', Value: ['20261120'] } }
    expect(ageYears(meta)).toBe(61)
    expect(ageYears({ '00101010': { vr: 'AS', Value: ['045Y'] } })).toBe(45)
  })
  it('warns when the DICOM patient is not the consultation patient', () => {
    const meta = {
      '00100010': { vr: 'PN', Value: [{ Alphabetic: 'BATE^ER', Ideographic: '巴特尔' }] },
      '00100040': { vr: 'CS', Value: ['M'] },
      '00100030': { vr: 'DA', Value: ['19650314'] },
    }
    expect(demographicMismatches(meta, { name: '巴特尔', sex: 'male', birth_date: '1962-03-14' })).toEqual(['birth_date'])
    expect(demographicMismatches(meta, { name: '巴特尔', sex: 'male', birth_date: '1965-03-14' })).toEqual([])
  })
})
