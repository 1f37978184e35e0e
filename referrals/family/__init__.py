"""The family-doctor service (家庭医生签约服务): teams, packages, contracts, follow-ups,
home sick beds and home visits."""
