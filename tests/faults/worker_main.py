"""`paht worker` as the fault tests run it: the real command, with a short outbox lease.

`python -m tests.faults.worker_main` runs `paht worker` (settings from PAHT_*), except that
PAHT_FAULTS_LEASE_SECONDS, when set, becomes the outbox lease (`[outbox] lease_seconds`,
PAHT_OUTBOX__LEASE_SECONDS) instead of the production two minutes, so a test sees a dead
worker's messages taken over within seconds. Nothing else differs.
"""

from __future__ import annotations

import os

from backend.cli import main

LEASE_ENV = "PAHT_FAULTS_LEASE_SECONDS"


if __name__ == "__main__":
    if os.environ.get(LEASE_ENV):
        os.environ["PAHT_OUTBOX__LEASE_SECONDS"] = os.environ[LEASE_ENV]
    main(["worker"], prog_name="paht")
