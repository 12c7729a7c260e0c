"""Dates: Java patterns, time zones, parsing, now(), dateAdd, timestamps."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from daemon.clock import FrozenClock
from daemon.expressions import ExpressionError, render
from daemon.expressions.javadate import format_java, parse_java

DT = datetime(2024, 3, 5, 14, 7, 9, 123456, tzinfo=UTC)  # a Tuesday
NOW = datetime(2024, 1, 15, 10, 30, tzinfo=UTC)


def r(template: str, **ctx: Any) -> str:
    return render(template, {"__now__": NOW, "d": DT, **ctx})


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("yyyy-MM-dd", "2024-03-05"),
        ("yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "2024-03-05T14:07:09.123Z"),
        ("HH:mm", "14:07"),
        ("yy/M/d", "24/3/5"),
        ("EEE EEEE", "Tue Tuesday"),
        ("MMM MMMM", "Mar March"),
        ("h:mm a", "2:07 PM"),
        ("K k", "2 14"),
        ("SSSSSS", "123456"),
        ("SSSSSSSSS", "123456000"),
        ("S", "1"),
        ("D", "65"),
        ("'Week' w, 'Q'Q", "Week 10, Q1"),
        ("'quoted '' text'", "quoted ' text"),
        ("''yyyy''", "'2024'"),
        ("yyyy[-MM]", "2024-03"),
        ("Z", "+0000"),
        ("x", "+00"),
        ("VV", "Z"),  # a fixed offset, like java.time ZoneOffset.UTC
        ("G", "AD"),
    ],
)
def test_java_patterns_utc(pattern: str, expected: str) -> None:
    assert format_java(DT, pattern) == expected


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("XXX", "+05:30"),
        ("XX", "+0530"),
        ("X", "+0530"),
        ("xxx", "+05:30"),
        ("Z", "+0530"),
        ("ZZZZZ", "+05:30"),
        ("ZZZZ", "GMT+05:30"),
        ("O", "GMT+5:30"),
    ],
)
def test_offsets(pattern: str, expected: str) -> None:
    dt = DT.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert format_java(dt, pattern) == expected


def test_zone_names() -> None:
    paris = DT.astimezone(ZoneInfo("Europe/Paris"))
    assert format_java(paris, "VV z XXX") == "Europe/Paris CET +01:00"
    assert format_java(DT.astimezone(timezone(timedelta(hours=-3))), "X") == "-03"


def test_unknown_letter_is_a_clear_error() -> None:
    with pytest.raises(ExpressionError, match="unknown pattern letter 'b'"):
        format_java(DT, "yyyy-bb")


class TestDateFilter:
    def test_default_is_iso8601(self) -> None:
        assert r("{{ d | date }}") == "2024-03-05T14:07:09.123456Z"
        assert r("{{ d | date('iso8601') }}") == "2024-03-05T14:07:09.123456Z"

    def test_pattern(self) -> None:
        assert r("{{ d | date('yyyy-MM-dd') }}") == "2024-03-05"
        assert r("{{ d | date(\"yyyy-MM-dd'T'HH:mm:ss.SSSXXX\") }}") == "2024-03-05T14:07:09.123Z"

    def test_time_zone_converts_aware_dates(self) -> None:
        assert r("{{ d | date('HH:mm XXX', timeZone='Europe/Paris') }}") == "15:07 +01:00"
        assert r("{{ d | date('HH:mm', timeZone='America/New_York') }}") == "09:07"
        assert r("{{ d | date('HH:mm', timeZone='UTC') }}") == "14:07"

    def test_time_zone_reads_zoneless_strings(self) -> None:
        assert r("{{ '2024-07-01T12:00:00' | date('HH:mm XXX', timeZone='Europe/Paris') }}") == "12:00 +02:00"

    def test_iso_string_inputs(self) -> None:
        assert r("{{ '2024-01-15' | date('EEE d MMM yyyy') }}") == "Mon 15 Jan 2024"
        assert r("{{ '2024-01-15T10:30:00Z' | date('HH:mm') }}") == "10:30"
        assert r("{{ '2024-01-15T10:30:00.5+02:00' | date('HH:mm:ss.SSS XXX') }}") == "10:30:00.500 +02:00"

    def test_epoch_inputs(self) -> None:
        assert r("{{ 0 | date('yyyy-MM-dd HH:mm') }}") == "1970-01-01 00:00"
        assert r("{{ 1705314600 | date('yyyy-MM-dd HH:mm') }}") == "2024-01-15 10:30"
        assert r("{{ 1705314600000 | date('yyyy-MM-dd HH:mm') }}") == "2024-01-15 10:30"

    def test_date_object_input(self) -> None:
        assert r("{{ x | date('yyyy/MM/dd') }}", x=date(2024, 2, 29)) == "2024/02/29"

    def test_existing_format(self) -> None:
        assert r("{{ 'July 24, 2001' | date('yyyy-MM-dd', existingFormat='MMMM dd, yyyy') }}") == "2001-07-24"
        assert r("{{ '15/01/2024 10h30' | date('iso', existingFormat=\"dd/MM/yyyy HH'h'mm\") }}") == (
            "2024-01-15T10:30:00Z"
        )

    def test_named_formats(self) -> None:
        assert r("{{ d | date('iso_local_date') }}") == "2024-03-05"
        assert r("{{ d | date('sql') }}") == "2024-03-05 14:07:09.123"
        assert r("{{ d | date('iso_sec') }}") == "2024-03-05T14:07:09Z"

    def test_bad_input_and_zone(self) -> None:
        with pytest.raises(ExpressionError, match="cannot read a date from 'soon'"):
            r("{{ 'soon' | date('yyyy') }}")
        with pytest.raises(ExpressionError, match="unknown time zone 'Mars/Base'"):
            r("{{ d | date('yyyy', timeZone='Mars/Base') }}")


class TestNow:
    def test_injected_datetime(self) -> None:
        assert r("{{ now() }}") == "2024-01-15T10:30:00Z"
        assert r("{{ now() | date('yyyy-MM-dd') }}") == "2024-01-15"

    def test_injected_clock(self) -> None:
        clock = FrozenClock(datetime(2030, 6, 1, tzinfo=UTC))
        assert render("{{ now() | date('yyyy') }}", {"__now__": clock}) == "2030"

    def test_time_zone(self) -> None:
        assert r("{{ now(timeZone='Asia/Tokyo') | date('HH:mm') }}") == "19:30"

    def test_real_clock_without_injection(self) -> None:
        year = int(render("{{ now() | date('yyyy') }}", {}))
        assert year >= 2024


class TestDateAdd:
    @pytest.mark.parametrize(
        ("amount", "unit", "expected"),
        [
            (-1, "DAYS", "2024-01-14T10:30:00Z"),
            (2, "HOURS", "2024-01-15T12:30:00Z"),
            (90, "MINUTES", "2024-01-15T12:00:00Z"),
            (30, "SECONDS", "2024-01-15T10:30:30Z"),
            (1, "WEEKS", "2024-01-22T10:30:00Z"),
            (1, "MONTHS", "2024-02-15T10:30:00Z"),
            (-1, "YEARS", "2023-01-15T10:30:00Z"),
            (1500, "MILLIS", "2024-01-15T10:30:01.500Z"),
        ],
    )
    def test_units(self, amount: int, unit: str, expected: str) -> None:
        assert r(f"{{{{ now() | dateAdd({amount}, '{unit}') }}}}") == expected

    def test_month_end_is_clamped(self) -> None:
        assert r("{{ '2024-01-31T00:00:00Z' | dateAdd(1, 'MONTHS') | date('yyyy-MM-dd') }}") == "2024-02-29"

    def test_days_keep_wall_clock_across_dst(self) -> None:
        start = datetime(2024, 3, 30, 12, 0, tzinfo=ZoneInfo("Europe/Paris"))
        assert r("{{ x | dateAdd(1, 'DAYS') | date('HH:mm XXX') }}", x=start) == "12:00 +02:00"

    def test_chains_with_date_and_coalesce(self) -> None:
        template = "{{ trigger.date ?? (now() | dateAdd(-1, 'DAYS')) | date('yyyy-MM-dd') }}"
        assert r(template, trigger={}) == "2024-01-14"

    def test_unknown_unit(self) -> None:
        with pytest.raises(ExpressionError, match="unknown unit 'FORTNIGHTS'"):
            r("{{ now() | dateAdd(1, 'FORTNIGHTS') }}")


def test_timestamps() -> None:
    assert r("{{ now() | timestamp }}") == "1705314600"
    assert r("{{ now() | timestampMilli }}") == "1705314600000"
    assert r("{{ d | timestampMicro }}") == "1709647629123456"
    assert r("{{ d | timestampNano }}") == "1709647629123456000"


def test_date_function_parses() -> None:
    assert r("{{ date('2024-02-03') | date('EEEE') }}") == "Saturday"
    assert r("{{ date('03.02.2024', existingFormat='dd.MM.yyyy') | date('yyyy-MM-dd') }}") == "2024-02-03"


def test_parse_java_with_offset_and_ampm() -> None:
    parsed = parse_java("2024-01-15 02:30 PM +0100", "yyyy-MM-dd hh:mm a Z", UTC)
    assert parsed == datetime(2024, 1, 15, 14, 30, tzinfo=timezone(timedelta(hours=1)))
    with pytest.raises(ExpressionError, match="does not match"):
        parse_java("15/01/2024", "yyyy-MM-dd", UTC)
