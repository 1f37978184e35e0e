/** The reading workstation (Cornerstone3D viewer): English. */
import type zh from '../zh-CN/viewer'

const viewer: typeof zh = {
  reader: {
    help: 'Wheel or arrow keys change slices, right-drag zooms, middle-drag pans, left button uses the chosen tool; touch: one finger changes slices (windows or measures with those tools), pinch zooms, two fingers pan',
    patientId: 'ID',
    age: '{n} y',
    sex: { M: 'male', F: 'female', O: 'other' },
    seriesNo: 'series {n}',
    location: 'Location {mm} mm',
    thickness: 'Thickness {mm} mm',
    layout: 'Layout',
    layouts: { 1: '1×1', 2: '1×2', 4: '2×2' },
    link: 'Link',
    mpr: 'MPR',
    mipSlab: 'MIP slab',
    slabOff: 'off',
    volumeLoaded: 'Volume loaded {n} / {total}',
    axis: { axial: 'Axial', sagittal: 'Sagittal', coronal: 'Coronal' },
    keyImage: 'Key image',
    tool: {
      wl: 'Window', scroll: 'Scroll', pan: 'Pan', zoom: 'Zoom', length: 'Length', angle: 'Angle',
      ellipse: 'Ellipse ROI', rectangle: 'Rectangle ROI', arrow: 'Arrow',
    },
    arrowText: 'Finding',
    kind: { length: 'Length', angle: 'Angle', ellipse_roi: 'Ellipse ROI', rectangle_roi: 'Rectangle ROI', arrow: 'Arrow' },
    marks: 'Measurements and key images',
    noMarks: 'No measurements or key images yet',
    save: 'Save to the study (DICOM SR)',
    saved: 'Saved {at}',
    question: 'Consultation question',
    backToConsultation: 'Back to the consultation',
    mismatch: "Warning: the {fields} in the images disagree with this consultation's patient. Make sure it is the same person.",
    priors: 'Prior studies',
    noPriors: 'The patient has no other studies',
    compare: 'Compare side by side',
    atCounty: 'county PACS',
    countyUnavailable: 'The county PACS cannot be queried now',
  },
}

export default viewer
