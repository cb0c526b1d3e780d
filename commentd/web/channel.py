"""A waitress channel that waits, instead of spinning, while a task thread sends.

waitress sends a response from the task thread that made it, holding the channel's output
lock. Meanwhile its main loop sees unsent bytes, finds the socket writable, fails to take the
lock, and goes round again: ``select()`` returns at once, every time, until the task thread
gets the GIL back from the spinning loop. On one core that cost about 60 loop turns per POST,
most of the process's CPU, and a 5 ms GIL wait in the tail. Here a channel is not writable
while its task thread sends; the task pulls the trigger if it leaves anything for the loop to
send or close.

This module needs only waitress, so the benchmark's hello-world ceiling and Isso can run
under the very same server.
"""

from __future__ import annotations

from waitress.channel import HTTPChannel


class NoSpinChannel(HTTPChannel):
    """waitress's channel, not writable to the main loop while a task thread sends."""

    task_sending = False

    def write_soon(self, data: bytes) -> int:
        self.task_sending = True
        try:
            return super().write_soon(data)
        finally:
            self.task_sending = False
            if super().writable():
                self.server.pull_trigger()  # what is left is the loop's to send or close

    def writable(self) -> bool:
        if (
            self.task_sending
            and not self.will_close
            # above the high watermark the task thread waits for the loop to send: let it
            and self.total_outbufs_len <= self.adj.outbuf_high_watermark
        ):
            return False
        return super().writable()
