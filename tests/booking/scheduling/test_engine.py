"""Tests for the pure slot engine in booking/scheduling/engine.py.

No database and no Django settings: every test builds plain data and checks what a
patient would see in the date/time picker. Times are written in the clinic's local
wall-clock time and compared as "HH:MM" strings so failures read like a schedule.
"""

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.scheduling.engine import (
    WeeklyHours,
    free_slots,
    group_by_local_date,
    slots_by_practitioner,
    working_windows,
)

pytestmark = pytest.mark.clock

TORONTO = ZoneInfo("America/Toronto")
LONDON = ZoneInfo("Europe/London")

MON = date(2026, 6, 15)  # an ordinary Monday, far from any DST change
TUE = MON + timedelta(days=1)
WED = MON + timedelta(days=2)

FAR_PAST = datetime(2000, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


def at(day: date, hhmm: str, tz: ZoneInfo = TORONTO) -> datetime:
    """Local wall-clock time on `day` as an aware UTC datetime."""
    h, m = map(int, hhmm.split(":"))
    return datetime.combine(day, time(h, m), tzinfo=tz).astimezone(UTC)


def span(day: date, start: str, end: str, tz: ZoneInfo = TORONTO, end_day: date | None = None):
    return (at(day, start, tz), at(end_day or day, end, tz))


def hhmm(starts, tz: ZoneInfo = TORONTO) -> list[str]:
    return [t.astimezone(tz).strftime("%H:%M") for t in starts]


def slots(windows, busy=(), *, duration=60, buffer=0, grid=15, tz=TORONTO, not_before=None, not_after=None):
    """free_slots with minutes as ints and a wide-open notice/horizon by default."""
    return free_slots(
        windows,
        busy,
        duration=timedelta(minutes=duration),
        buffer=timedelta(minutes=buffer),
        grid=timedelta(minutes=grid),
        tz=tz,
        not_before=not_before or FAR_PAST,
        not_after=not_after or FAR_FUTURE,
    )


def weekly(pid: int, weekdays, start: str, end: str, location_id: int | None = 1) -> list[WeeklyHours]:
    s, e = (time(*map(int, x.split(":"))) for x in (start, end))
    return [WeeklyHours(pid, wd, s, e, location_id) for wd in weekdays]


# --- cutting a window into slots -------------------------------------------------------------


def test_basic_morning_window_is_cut_into_hour_slots():
    assert hhmm(slots([span(MON, "09:00", "12:00")])) == ["09:00", "10:00", "11:00"]


def test_starts_are_aware_utc_datetimes():
    starts = slots([span(MON, "09:00", "12:00")])
    assert all(t.tzinfo is UTC for t in starts)
    assert starts[0] == datetime(2026, 6, 15, 13, 0, tzinfo=UTC)  # 09:00 EDT


def test_last_slot_may_end_exactly_at_closing_time():
    # 45-min service: 11:15 ends exactly at 12:00 and is still offered.
    assert hhmm(slots([span(MON, "09:00", "12:00")], duration=45)) == ["09:00", "09:45", "10:30", "11:15"]


def test_buffer_may_run_past_closing_time():
    # Treatment 10:00-11:00 fits the 10-11 window; its 15-min clean-up after closing is fine.
    assert hhmm(slots([span(MON, "10:00", "11:00")], buffer=15)) == ["10:00"]


def test_slot_that_would_overrun_closing_time_is_refused():
    assert hhmm(slots([span(MON, "09:00", "11:30")])) == ["09:00", "10:00"]
    assert slots([span(MON, "10:00", "10:45")]) == []


def test_consecutive_slots_leave_room_for_the_services_buffer():
    # 60 min + 15 min buffer: 09:00, 10:15; 11:30 would end at 12:30 > 12:00.
    assert hhmm(slots([span(MON, "09:00", "12:00")], buffer=15)) == ["09:00", "10:15"]


def test_slot_cannot_straddle_a_lunch_break():
    hours = weekly(1, [0], "09:00", "12:30") + weekly(1, [0], "13:00", "15:00")
    windows = working_windows(hours, MON, MON, TORONTO)
    assert hhmm(slots(windows[1])) == ["09:00", "10:00", "11:00", "13:00", "14:00"]


def test_back_to_back_hours_rows_form_one_continuous_window():
    # A split into two rows (e.g. two rooms) must not cut a 90-min treatment at 12:00.
    windows = working_windows(
        weekly(1, [0], "09:00", "12:00") + weekly(1, [0], "12:00", "15:00", None), MON, MON, TORONTO
    )
    assert windows[1] == [span(MON, "09:00", "15:00")]
    assert hhmm(slots(windows[1], duration=90)) == ["09:00", "10:30", "12:00", "13:30"]


def test_empty_windows_give_no_slots():
    assert slots([]) == []


# --- existing bookings and buffers -------------------------------------------------------------


def test_existing_bookings_buffer_pushes_the_next_start():
    # Booking 09:00-10:00 plus its 15-min buffer arrives as busy [09:00, 10:15).
    busy = [span(MON, "09:00", "10:15")]
    assert hhmm(slots([span(MON, "09:00", "13:00")], busy)) == ["10:15", "11:15"]


def test_new_services_own_buffer_must_fit_before_an_existing_booking():
    window = [span(MON, "09:00", "13:00")]
    busy = [span(MON, "10:15", "11:00")]
    # 09:00 + 60 min + 15 min buffer ends exactly at 10:15: allowed.
    assert hhmm(slots(window, busy, buffer=15)) == ["09:00", "11:00"]
    # With a 20-min buffer the clean-up would overlap the 10:15 patient.
    assert hhmm(slots(window, busy, buffer=20)) == ["11:00"]


def test_buffer_may_not_run_into_time_off_right_after_closing():
    # The 10:00 treatment ends at closing (11:00); its clean-up would need 11:00-11:15,
    # which is fine on a free afternoon but not when the practitioner is off from 11:00.
    window = [span(MON, "10:00", "11:00")]
    assert hhmm(slots(window, buffer=15)) == ["10:00"]
    assert slots(window, [span(MON, "11:00", "12:00")], buffer=15) == []
    assert hhmm(slots(window, [span(MON, "11:15", "12:00")], buffer=15)) == ["10:00"]


def test_overlapping_and_unsorted_busy_intervals():
    busy = [span(MON, "10:30", "11:00"), span(MON, "09:00", "10:00"), span(MON, "09:30", "10:30")]
    assert hhmm(slots([span(MON, "09:00", "13:00")], busy)) == ["11:00", "12:00"]


def test_busy_intervals_outside_the_windows_are_ignored():
    busy = [span(MON, "06:00", "08:00"), span(MON, "14:00", "16:00"), span(WED, "09:00", "10:00")]
    assert hhmm(slots([span(MON, "09:00", "12:00")], busy)) == ["09:00", "10:00", "11:00"]


def test_busy_interval_covering_the_whole_window_leaves_nothing():
    assert slots([span(MON, "09:00", "12:00")], [span(MON, "08:00", "13:00")]) == []


def test_cancelled_booking_not_passed_as_busy_frees_its_slot():
    window = [span(MON, "09:00", "12:00")]
    booked = span(MON, "10:00", "11:00")
    assert hhmm(slots(window, [booked])) == ["09:00", "11:00"]
    # Cancelled: the caller filters it out of `busy`, and 10:00 is bookable again.
    assert hhmm(slots(window, [])) == ["09:00", "10:00", "11:00"]


def test_time_off_across_midnight_removes_tuesday_morning():
    windows = working_windows(weekly(1, [0, 1], "09:00", "12:00"), MON, TUE, TORONTO)
    time_off = [span(MON, "20:00", "10:00", end_day=TUE)]
    starts = slots(windows[1], time_off)
    grouped = group_by_local_date(starts, TORONTO)
    assert hhmm(grouped[MON]) == ["09:00", "10:00", "11:00"]
    assert hhmm(grouped[TUE]) == ["10:00", "11:00"]


def test_multi_day_leave_spans_several_windows():
    windows = working_windows(weekly(1, range(5), "09:00", "12:00"), MON, MON + timedelta(days=4), TORONTO)
    leave = [span(TUE, "00:00", "23:59", end_day=WED)]
    days = group_by_local_date(slots(windows[1], leave), TORONTO)
    assert list(days) == [MON, MON + timedelta(days=3), MON + timedelta(days=4)]


# --- grid --------------------------------------------------------------------------------------


def test_start_after_a_booking_ending_at_1007_is_rounded_up_to_1015():
    busy = [span(MON, "09:00", "10:07")]
    assert hhmm(slots([span(MON, "09:00", "13:00")], busy)) == ["10:15", "11:15"]
    assert hhmm(slots([span(MON, "09:00", "13:00")], busy, grid=30)) == ["10:30", "11:30"]


def test_window_opening_off_grid_starts_at_next_grid_mark():
    assert hhmm(slots([span(MON, "09:10", "12:00")])) == ["09:15", "10:15"]


def test_grid_is_on_the_local_clock_in_a_half_hour_offset_zone():
    kolkata = ZoneInfo("Asia/Kolkata")  # UTC+05:30: a UTC-aligned hour grid would give :30 starts
    window = [span(MON, "09:00", "12:00", kolkata)]
    busy = [span(MON, "09:00", "09:40", kolkata)]
    assert hhmm(slots(window, busy, grid=60, tz=kolkata), kolkata) == ["10:00", "11:00"]


# --- notice and horizon ---------------------------------------------------------------------------


def test_minimum_notice_hides_slots_starting_too_soon():
    window = [span(MON, "09:00", "12:00")]
    assert hhmm(slots(window, not_before=at(MON, "09:30"))) == ["10:00", "11:00"]
    assert hhmm(slots(window, not_before=at(MON, "10:00"))) == ["10:00", "11:00"]  # inclusive


def test_booking_horizon_hides_slots_too_far_ahead():
    windows = working_windows(weekly(1, [0, 1, 2], "09:00", "12:00"), MON, WED, TORONTO)
    starts = slots(windows[1], not_after=at(TUE, "10:00"))
    assert hhmm(starts) == ["09:00", "10:00", "11:00", "09:00", "10:00"]  # 10:00 Tue inclusive
    assert slots(windows[1], not_before=at(WED, "12:00")) == []
    assert slots(windows[1], not_before=at(TUE, "10:00"), not_after=at(TUE, "09:00")) == []


def test_notice_does_not_shift_the_rest_of_the_days_pattern():
    # Asking at 09:05 still offers the regular 10:00/11:00 rather than 09:15/10:15.
    window = [span(MON, "09:00", "12:00")]
    assert hhmm(slots(window, not_before=at(MON, "09:05"))) == ["10:00", "11:00"]


# --- working windows ------------------------------------------------------------------------------


def test_closed_day_yields_no_slots():
    hours = weekly(1, [0, 1, 2], "09:00", "12:00")
    windows = working_windows(hours, MON, WED, TORONTO, closed_days={TUE})
    days = group_by_local_date(slots(windows[1]), TORONTO)
    assert list(days) == [MON, WED]


def test_practitioner_closed_all_range_still_has_a_key():
    windows = working_windows(weekly(7, [1], "09:00", "12:00"), MON, WED, TORONTO, closed_days=[TUE])
    assert windows == {7: []}


def test_working_windows_only_on_the_practitioners_weekdays():
    hours = weekly(1, [0], "09:00", "12:00") + weekly(2, [2], "13:00", "17:00")
    windows = working_windows(hours, MON, WED, TORONTO)
    assert windows == {1: [span(MON, "09:00", "12:00")], 2: [span(WED, "13:00", "17:00")]}


def test_invalid_weekly_hours_are_rejected():
    with pytest.raises(ValueError):
        working_windows([WeeklyHours(1, 0, time(12), time(9), None)], MON, MON, TORONTO)
    with pytest.raises(ValueError):
        working_windows([WeeklyHours(1, 7, time(9), time(12), None)], MON, MON, TORONTO)


def test_naive_datetimes_and_bad_durations_are_rejected():
    window = [span(MON, "09:00", "12:00")]
    with pytest.raises(ValueError):
        slots(window, not_before=datetime(2026, 6, 15, 9))  # noqa: DTZ001 - naive on purpose
    with pytest.raises(ValueError):
        slots(window, duration=0)
    with pytest.raises(ValueError):
        slots(window, buffer=-5)


# --- any practitioner ------------------------------------------------------------------------------


def test_any_practitioner_lists_both_when_free_and_one_when_other_is_busy():
    hours = weekly(2, [0], "09:00", "12:00") + weekly(1, [0], "09:00", "12:00")
    windows = working_windows(hours, MON, MON, TORONTO)
    busy = {2: [span(MON, "10:00", "11:00")]}  # practitioner 1 has no bookings at all
    union = slots_by_practitioner(
        windows,
        busy,
        duration=timedelta(hours=1),
        buffer=timedelta(0),
        not_before=FAR_PAST,
        not_after=FAR_FUTURE,
        tz=TORONTO,
    )
    assert {t.astimezone(TORONTO).strftime("%H:%M"): ids for t, ids in union.items()} == {
        "09:00": [1, 2],
        "10:00": [1],
        "11:00": [1, 2],
    }
    assert list(union) == sorted(union)


def test_any_practitioner_includes_times_only_one_offers():
    windows = {1: [span(MON, "09:00", "10:00")], 2: [span(MON, "09:30", "10:30")]}
    union = slots_by_practitioner(
        windows,
        {},
        duration=timedelta(hours=1),
        buffer=timedelta(0),
        not_before=FAR_PAST,
        not_after=FAR_FUTURE,
        tz=TORONTO,
    )
    assert [(hhmm([t])[0], ids) for t, ids in union.items()] == [("09:00", [1]), ("09:30", [2])]


# --- daylight saving time ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "before, after",
    [
        (date(2026, 3, 7), date(2026, 3, 9)),  # spring forward on Sunday 2026-03-08
        (date(2026, 10, 31), date(2026, 11, 2)),  # fall back on Sunday 2026-11-01
    ],
)
def test_toronto_morning_hours_stay_at_nine_local_across_dst(before, after):
    hours = weekly(1, range(7), "09:00", "12:00")
    windows = working_windows(hours, before, after, TORONTO)
    days = group_by_local_date(slots(windows[1]), TORONTO)
    assert list(days) == [before, before + timedelta(days=1), after]
    for day in days:
        assert hhmm(days[day]) == ["09:00", "10:00", "11:00"]
    offset_before = days[before][0].astimezone(TORONTO).utcoffset()
    offset_after = days[after][0].astimezone(TORONTO).utcoffset()
    assert abs(offset_after - offset_before) == timedelta(hours=1)
    # The same 09:00 is therefore a different UTC hour on each side.
    assert abs(days[after][0].hour - days[before][0].hour) == 1


def test_toronto_spring_forward_utc_values():
    hours = weekly(1, [5, 0], "09:00", "12:00")  # Saturday before and Monday after
    windows = working_windows(hours, date(2026, 3, 7), date(2026, 3, 9), TORONTO)
    starts = slots(windows[1])
    assert [t.strftime("%m-%d %H:%M") for t in starts] == [
        "03-07 14:00",
        "03-07 15:00",
        "03-07 16:00",  # EST, UTC-5
        "03-09 13:00",
        "03-09 14:00",
        "03-09 15:00",  # EDT, UTC-4
    ]


def test_london_hours_stay_at_nine_local_across_both_changes():
    hours = weekly(1, range(7), "09:00", "12:00")
    for before, after in [(date(2026, 3, 27), date(2026, 3, 30)), (date(2026, 10, 23), date(2026, 10, 26))]:
        windows = working_windows(hours, before, after, LONDON, closed_days={before + timedelta(days=1)})
        days = group_by_local_date(slots(windows[1], tz=LONDON), LONDON)
        assert all(hhmm(v, LONDON) == ["09:00", "10:00", "11:00"] for v in days.values())
        assert {days[before][0].hour, days[after][0].hour} == {8, 9}  # BST is UTC+1, GMT is UTC+0


def test_london_hour_slot_across_spring_forward_lasts_one_real_hour():
    # On 2026-03-29 London jumps 01:00 GMT -> 02:00 BST. A 00:30-02:30 wall-clock window
    # holds only one real hour, so exactly one 60-min slot fits, and it ends at 02:30 local.
    night = date(2026, 3, 29)
    windows = working_windows(weekly(1, [6], "00:30", "02:30"), night, night, LONDON)
    starts = slots(windows[1], tz=LONDON)
    assert hhmm(starts, LONDON) == ["00:30"]
    assert (starts[0] + timedelta(hours=1)).astimezone(LONDON).strftime("%H:%M") == "02:30"
    # A 00:00-04:00 night window is three real hours: no phantom 01:00 slot.
    windows = working_windows(weekly(1, [6], "00:00", "04:00"), night, night, LONDON)
    assert hhmm(slots(windows[1], tz=LONDON), LONDON) == ["00:00", "02:00", "03:00"]


def test_london_fall_back_night_has_an_extra_real_hour():
    # On 2026-10-25 01:00-02:00 happens twice; 00:00-03:00 wall clock is four real hours.
    night = date(2026, 10, 25)
    windows = working_windows(weekly(1, [6], "00:00", "03:00"), night, night, LONDON)
    starts = slots(windows[1], tz=LONDON)
    assert hhmm(starts, LONDON) == ["00:00", "01:00", "01:00", "02:00"]
    assert len(set(starts)) == 4  # four distinct instants


# --- grouping for the picker --------------------------------------------------------------------


def test_group_by_local_date_uses_local_not_utc_date():
    evening = at(MON, "20:30")  # 00:30 UTC on Tuesday
    assert evening.date() == TUE
    morning = at(MON, "09:00")
    next_day = at(TUE, "09:00")
    grouped = group_by_local_date([next_day, evening, morning], TORONTO)
    assert grouped == {MON: [morning, evening], TUE: [next_day]}
    assert list(grouped) == [MON, TUE]


def test_group_by_local_date_empty():
    assert group_by_local_date([], TORONTO) == {}


# --- invariants on random schedules ---------------------------------------------------------------


@pytest.mark.parametrize("seed", range(25))
def test_every_offered_slot_is_genuinely_bookable(seed):
    """Whatever the schedule, no offered start may clash or leave the opening hours."""
    rng = random.Random(seed)
    tz = rng.choice([TORONTO, LONDON])
    first = date(2026, 3, 1) + timedelta(days=rng.randrange(0, 250))
    opens = f"{rng.randint(7, 10):02d}:{rng.choice([0, 10, 30]):02d}"
    hours = weekly(1, range(6), opens, f"{rng.randint(14, 19):02d}:00")
    windows = working_windows(hours, first, first + timedelta(days=13), tz)[1]
    duration = timedelta(minutes=rng.choice([15, 30, 45, 60, 90]))
    buffer = timedelta(minutes=rng.choice([0, 5, 10, 15]))
    grid = timedelta(minutes=rng.choice([5, 15, 30]))
    busy = []
    for _ in range(rng.randint(0, 60)):
        s = windows[0][0] + timedelta(minutes=rng.randrange(-600, 14 * 24 * 60, 7))
        busy.append((s, s + timedelta(minutes=rng.randint(5, 300))))
    not_before = windows[0][0] + timedelta(minutes=rng.randrange(0, 3 * 24 * 60))
    not_after = not_before + timedelta(days=rng.randint(0, 12))

    limits = {"not_before": not_before, "not_after": not_after}
    starts = free_slots(windows, busy, duration=duration, buffer=buffer, tz=tz, grid=grid, **limits)

    assert starts == sorted(set(starts))
    for prev, t in zip([None, *starts], starts, strict=False):
        assert not_before <= t <= not_after
        assert any(ws <= t and t + duration <= we for ws, we in windows)
        assert all(t + duration + buffer <= bs or t >= be for bs, be in busy)
        # Each start is either snapped to the local grid (first of a free stretch) or
        # follows the previous slot back to back (possibly one hidden by the minimum notice).
        local = t.astimezone(tz)
        on_grid = (local.hour * 60 + local.minute) % (grid.seconds // 60) == 0 and local.second == 0
        follows = t - prev == duration + buffer if prev else t - duration - buffer < not_before
        assert on_grid or follows, (local, prev)
        # Back-to-back slots never overlap each other (treatment + buffer).
        assert prev is None or t - prev >= duration + buffer


def _reference_slots(windows, busy, *, duration, buffer, not_before, not_after, tz, grid):
    """Deliberately naive re-statement of the rules: walk each window, jump past clashes."""

    def ceil_local(t):
        local = t.astimezone(tz)
        since_midnight = timedelta(hours=local.hour, minutes=local.minute, seconds=local.second)
        rem = since_midnight % grid
        return t + (grid - rem) if rem else t

    out = []
    for ws, we in windows:
        t = ceil_local(ws)
        while t + duration <= we:
            clashes = [be for bs, be in busy if bs < t + duration + buffer and be > t]
            if clashes:
                t = ceil_local(max(clashes))
                continue
            if not_before <= t <= not_after:
                out.append(t)
            t += duration + buffer
    return out


@pytest.mark.parametrize("seed", range(25))
def test_engine_matches_a_naive_walk_of_the_day(seed):
    """The fast sweep must offer exactly what a slow, obvious walk through each day offers."""
    rng = random.Random(1000 + seed)
    tz = rng.choice([TORONTO, LONDON, ZoneInfo("Asia/Kolkata")])
    first = date(2026, 1, 1) + timedelta(days=rng.randrange(0, 340))
    hours = weekly(1, range(6), f"{rng.randint(7, 10):02d}:{rng.choice([0, 10, 30]):02d}", "13:00")
    hours += weekly(1, range(5), f"{rng.randint(13, 14):02d}:{rng.choice([0, 30]):02d}", "18:00")
    windows = working_windows(hours, first, first + timedelta(days=9), tz)[1]
    busy = []
    for _ in range(rng.randint(0, 50)):
        s = windows[0][0] + timedelta(minutes=rng.randrange(-300, 10 * 24 * 60, rng.choice([5, 7, 15])))
        busy.append((s, s + timedelta(minutes=rng.randint(5, 240))))
    kw = {
        "duration": timedelta(minutes=rng.choice([20, 30, 45, 60, 90])),
        "buffer": timedelta(minutes=rng.choice([0, 5, 10, 15])),
        "grid": timedelta(minutes=rng.choice([5, 10, 15, 30])),
        "not_before": windows[0][0] + timedelta(minutes=rng.randrange(0, 2 * 24 * 60)),
        "not_after": windows[0][0] + timedelta(days=rng.randint(3, 10)),
        "tz": tz,
    }
    assert free_slots(windows, busy, **kw) == _reference_slots(windows, busy, **kw)


def test_the_engine_imports_nothing_from_django():
    """The engine is plain Python: it loads and runs without Django, settings or a database."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys, booking.scheduling.engine as a; "
        "assert not [m for m in sys.modules if m == 'django' or m.startswith('django.')], 'django imported'"
    )
    root = Path(__file__).resolve().parents[3]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True, env={"PATH": "/usr/bin:/bin"})
