"""The waitlist: patients who found no time that suits wait for one; a freed time is offered to them one at a
time, held for a few minutes, and claimed as an ordinary booking.

- ``models``: entries (who waits for what) and offers (a held time sent to one entry);
- ``offers``: the worker's step that offers freed times, and claiming, declining and leaving;
- ``forms``, ``views``, ``urls``: the patient's pages; ``admin``: the front desk's.
"""
