"""Reference data: the ICD-10 diagnosis catalogue offered when coding opinions and referrals."""
