/** 远程病理：全切片图像浏览与标注。 */
const pathology = {
  slide: {
    title: '病理切片',
    open: '浏览切片',
    loading: '正在加载切片…',
    noSlide: '该检查没有全切片图像',
    canvasLabel: '病理全切片图像（可平移、缩放）',
    levels: '{n} 个分辨率层级，最大 {width} × {height} 像素',
    magnification: '放大倍数',
    objective: '{m}×',
    fit: '全片',
    scaleBar: '比例尺 {label}',
    tools: '工具',
    toolPan: '平移',
    toolPoint: '点标注',
    toolRect: '矩形标注',
    labelText: '标注文字',
    labelPlaceholder: '如：核分裂象',
    annotations: '标注',
    noAnnotations: '尚无标注',
    remove: '删除',
    save: '保存标注',
    saved: '标注已保存（随会诊意见签名）',
    readOnly: '意见已签名，标注不可更改',
    point: '点 ({x}, {y})',
    rect: '矩形 ({x}, {y}) {w} × {h}',
    help: '滚轮或 +/− 缩放，拖动平移；选择点或矩形工具后在切片上点击或拖动以标注。坐标为最高分辨率层的像素。',
  },
}

export default pathology
