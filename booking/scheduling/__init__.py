"""When can a patient book? Availability = working hours - time off - closures - active bookings (+ buffers).

- ``engine``: the pure slot engine (plain data in, free starts out; no Django imports).
- ``availability``: what the database says is free, behind the shared cache (feeds the engine).
- ``slotcheck``: the save-time check of one chosen start (accepts exactly what the picker offers).
- ``picker``: free times grouped by day for the request, move and reschedule pages.
- ``closures``: statutory holidays loaded as clinic closures.

Dependencies point one way: picker -> availability -> engine; slotcheck -> availability, engine.
"""
