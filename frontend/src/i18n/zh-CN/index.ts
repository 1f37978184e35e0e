/**
 * Simplified Chinese catalogue (default), one file per feature. Every key here must exist in
 * the English one (checked by tsc and Vitest).
 */
import shell from './shell'
import network from './network'
import patients from './patients'
import audit from './audit'
import booking from './booking'
import consultations from './consultations'
import imaging from './imaging'
import room from './room'
import family from './family'
import referrals from './referrals'
import schedules from './schedules'
import errors from './errors'
import dashboard from './dashboard'
import pathology from './pathology'
import ecg from './ecg'
import viewer from './viewer'
import history from './history'
import training from './training'
import payments from './payments'

const zhCN = { ...shell, ...network, ...patients, ...audit, ...booking, ...consultations, ...imaging, ...room, ...family, ...referrals, ...schedules, ...errors, ...dashboard, ...pathology, ...ecg, ...viewer, ...history, ...training, ...payments }


export default zhCN
export type Messages = typeof zhCN
