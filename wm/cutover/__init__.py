"""The cut-over from the hand-built setup (`make migrate`): find it, compare it, move, switch, clean up.

- handbuilt.py: what the hand-built setup is called (../shared/FACTS.md) and a read-only scan of
  the account for it; every read that fails is kept as `Unreadable`, never skipped
- report.py: the comparison with what this repository declares, as Markdown (build/migrate-<env>.md)
- steps.py: STEP=secrets, switch, rollback and cleanup, each idempotent
"""
