"""The write path: every write goes through one of these modules, which validate, write, audit
and bump data_version in one transaction (divert.records.core holds the contract: Saved,
Rejected, write, upsert). Import the module that does the write, e.g.
divert.records.referrals.add_referral or divert.records.sessions.book."""
