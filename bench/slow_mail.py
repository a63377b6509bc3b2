"""The email backend of bench/faults.py: Django's file backend behind a mail server that is slow
to answer.

Each message is written to its own file first (the server has it: that is the delivery, and the
file's modification time is when it happened), then the backend waits for the server's answer,
the number of milliseconds written in the file named by ``BENCH_MAIL_DELAY_FILE`` (0 when unset or
missing). The bench changes that number while the worker runs. A worker killed during the wait has
delivered a message without knowing it: the crash window between delivery and marking the row
sent that the ``crash-window`` scenario measures.
"""

import os
import time
import uuid
from pathlib import Path

from django.core.mail.backends.filebased import EmailBackend as FileEmailBackend


def answer_delay_seconds() -> float:
    path = os.environ.get("BENCH_MAIL_DELAY_FILE", "")
    if not path:
        return 0.0
    try:
        with open(path) as delay_file:
            return max(0, int(delay_file.read().strip() or 0)) / 1000
    except (OSError, ValueError):
        return 0.0


class EmailBackend(FileEmailBackend):
    """Each message in a file of its own, written the moment the server has it, however long the
    sender keeps its connection open (reminders share one per batch)."""

    def open(self) -> bool:
        return False  # nothing to open: each message opens its own file

    def send_messages(self, email_messages) -> int:
        sent = 0
        for message in email_messages:
            path = Path(self.file_path) / f"{time.time_ns()}-{uuid.uuid4().hex}.log"
            with path.open("ab") as self.stream:
                self.write_message(message)
            self.stream = None
            sent += 1
            delay = answer_delay_seconds()
            if delay:
                time.sleep(delay)
        return sent
