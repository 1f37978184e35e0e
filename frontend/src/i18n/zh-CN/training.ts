export default {
  training: {
    title: '远程培训',
    catalogue: '课程目录',
    none: '暂无课程',
    credits: '{n} 学分（Ⅱ类）',
    places: '余位 {n}/{capacity}',
    enrolled: '已报名',
    enrol: '报名',
    unenrol: '取消报名',
    mine: '我的课程',
    noneMine: '尚未报名课程',
    attended: '已出席或观看 {pct}%',
    certificates: '我的学分证明',
    noneCertificates: '暂无学分证明',
    download: '下载证明',
  },
}
