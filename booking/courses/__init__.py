"""Courses of treatment: ordinary bookings on the same weekday and time every 1–4 weeks, made together.

- ``preview``: the dates of a course and, for each, free or why not (booked, time off, closure, outside
  hours) with the nearest free time the same week. Reads only; nothing is saved.
- ``workflow``: saving a course (every visit in one transaction, each through the same save-time check and
  database constraint as any booking) and cancelling some or all of its visits, with one email each time.

Moving one visit is an ordinary move (booking.workflow.reschedule): its own email and calendar event only.
"""
