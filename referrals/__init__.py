"""Tiered referrals (双向转诊) and family-doctor contracts (家庭医生签约服务)."""
