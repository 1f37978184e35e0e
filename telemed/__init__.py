"""telemed: remote consultation and referral system for a regional telemedicine network."""

__version__ = "0.1.0"
