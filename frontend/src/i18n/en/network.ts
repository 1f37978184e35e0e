/** Network overview: leagues, tiers, alliances: English. */
import type zh from '../zh-CN/network'

const network: typeof zh = {
  network: {
    title: 'Network overview',
    leagues: 'Leagues',
    counties: 'Counties',
    institutions: 'Institutions',
    networkHospitals: 'Network hospitals',
    alliances: 'Alliances',
    leagueGrid: 'Network hospitals in the 12 leagues',
    hospitalsCount: '{n} network hospitals',
    byTier: 'By tier',
    alliancesByKind: 'Alliances by kind',
    allianceList: 'Alliances',
    allianceName: 'Name',
    allianceKind: 'Kind',
    allianceLeague: 'League',
    allianceMembers: 'Members',
    kindFilter: 'Filter by kind',
    all: 'All',
    leagueHospitals: 'Network hospitals of {league}',
    institutionName: 'Institution',
    institutionTier: 'Tier',
    institutionGrade: 'Grade',
  },
  tier: {
    regional: 'Regional',
    league: 'League',
    county: 'County',
    township: 'Township health centre',
    community: 'Community health centre',
    village: 'Village clinic',
  },
  allianceKind: {
    county_medical_community: 'County medical community',
    city_medical_group: 'City medical group',
    specialist_alliance: 'Specialist alliance',
    telemedicine_network: 'Telemedicine network',
  },
}

export default network
