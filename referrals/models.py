"""Cases, subjects, consents, referrals and custody: built in the referral lifecycle issue."""
