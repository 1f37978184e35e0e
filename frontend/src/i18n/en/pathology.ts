/** Remote pathology: whole-slide viewing and annotation: English. */
import type zh from '../zh-CN/pathology'

const pathology: typeof zh = {
  slide: {
    title: 'Pathology slide',
    open: 'View slide',
    loading: 'Loading the slide…',
    noSlide: 'This study has no whole-slide image',
    canvasLabel: 'Whole-slide pathology image (pan and zoom)',
    levels: '{n} resolution levels, largest {width} × {height} pixels',
    magnification: 'Magnification',
    objective: '{m}×',
    fit: 'Whole slide',
    scaleBar: 'Scale bar {label}',
    tools: 'Tools',
    toolPan: 'Pan',
    toolPoint: 'Point',
    toolRect: 'Rectangle',
    labelText: 'Annotation text',
    labelPlaceholder: 'e.g. mitotic figure',
    annotations: 'Annotations',
    noAnnotations: 'No annotations yet',
    remove: 'Remove',
    save: 'Save annotations',
    saved: 'Annotations saved (signed with the opinion)',
    readOnly: 'The opinion is signed: the annotations cannot change',
    point: 'Point ({x}, {y})',
    rect: 'Rectangle ({x}, {y}) {w} × {h}',
    uploadTitle: 'Upload a pathology slide (SVS, NDPI, TIFF)',
    uploadPick: 'Choose a slide file',
    uploadHint: 'The scanner\'s slide file is converted to a DICOM whole-slide image on the server; the label image (with the patient\'s name) is not kept.',
    converting: 'Converting…',
    converted: 'Converted: view the slide',
    convertFailed: 'The conversion failed: {error}',
    help: 'Wheel or +/− zooms, drag pans; with the point or rectangle tool, click or drag on the slide to annotate. Coordinates are pixels of the highest-resolution level.',
  },
}

export default pathology
