/** Reasons the server gives itself in a history entry (`data.reason_code`): Simplified Chinese. */
export default {
  historyReason: {
    opinion_received: '已收到会诊意见',
    not_accepted_in_time: '服务时限内无医院接收',
    contact_date_passed: '已过联系日期',
    other: '系统原因（{code}）',
  },
}
