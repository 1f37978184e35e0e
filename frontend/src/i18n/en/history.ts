/** Reasons the server gives itself in a history entry (`data.reason_code`): English. */
import type zh from '../zh-CN/history'

const history: typeof zh = {
  historyReason: {
    opinion_received: 'opinion received',
    not_accepted_in_time: 'no hospital accepted within the service level',
    contact_date_passed: 'contact date passed',
    other: 'system reason ({code})',
  },
}

export default history
