"""What the clinic tells patients and staff, and how it reaches them exactly once.

- ``emails``: the kinds of email, queued as outbox rows inside the transaction that caused them, and their text.
- ``outbox``: the email worker's side: claim each due row, send it, record the outcome.
- ``reminders``: the reminder for a booking's current time, planned as an outbox row.
- ``ics``: the calendar file attached to confirmations, moves and cancellations.
- ``mailboxes``: one key per mailbox (the cap on open requests per address counts by it).
"""
