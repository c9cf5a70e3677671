#!/usr/bin/python3
"""check.py parses an iCalendar file with python3-icalendar and prints what
it understood as JSON, for the Go tests (booking/invite_test.go) to compare
with what Traded meant to say.

    /usr/bin/python3 tests/ics/check.py invite.ics

icalendar is lenient: a property it cannot parse is recorded in the
component's .errors, not raised, so every component's errors are reported.

icalendar resolves a TZID it finds in pytz (Europe/London is one) by name and
ignores the file's VTIMEZONE, so dtstart_utc here is computed from the
VTIMEZONE in the file (Timezone.to_tz, icalendar's own expansion of its
RRULEs): a wrong VTIMEZONE shows up as a wrong dtstart_utc. dtstart_utc_olson
is what icalendar makes of the TZID name alone, for comparison.
"""
import json
import sys
from datetime import datetime, timezone

import icalendar


def cn(prop):
    """The CN parameter of a property, with RFC 6868's ^n ^' ^^ decoded:
    icalendar 4 returns parameter values as written and predates RFC 6868."""
    if prop is None or "CN" not in prop.params:
        return None
    raw = str(prop.params["CN"])
    out, i = [], 0
    while i < len(raw):
        if raw[i] == "^" and i + 1 < len(raw) and raw[i + 1] in "n'^":
            out.append({"n": "\n", "'": '"', "^": "^"}[raw[i + 1]])
            i += 2
        else:
            out.append(raw[i])
            i += 1
    return "".join(out)


def main():
    out = {"parser": "icalendar " + icalendar.__version__, "method": None, "timezones": [], "events": [], "errors": []}
    try:
        if len(sys.argv) != 2:
            raise ValueError("usage: check.py FILE.ics")
        with open(sys.argv[1], "rb") as f:
            data = f.read()
        cal = icalendar.Calendar.from_ical(data)
        for comp in cal.walk():
            for prop, err in comp.errors:
                out["errors"].append("%s %s: %s" % (comp.name, prop, err))
        if cal.name != "VCALENDAR":
            out["errors"].append("top component is %s, want VCALENDAR" % cal.name)
        out["method"] = text(cal.get("METHOD"))

        zones = {}
        for vtz in cal.walk("VTIMEZONE"):
            tzid = str(vtz["TZID"])
            zones[tzid] = vtz.to_tz()
            out["timezones"].append(tzid)

        def utc(ev, name):
            prop = ev.get(name)
            if prop is None:
                return None, None
            dt = prop.dt
            if not isinstance(dt, datetime):
                out["errors"].append("%s is a date, not a date-time" % name)
                return None, None
            tzid = prop.params.get("TZID")
            olson = dt.astimezone(timezone.utc) if dt.tzinfo else None
            if tzid is None:
                if dt.tzinfo is None:
                    out["errors"].append("%s is floating (no TZID, no Z)" % name)
                    return None, None
                return iso(dt.astimezone(timezone.utc)), iso(olson)
            if tzid not in zones:
                out["errors"].append("%s has TZID %s but the file has no VTIMEZONE for it" % (name, tzid))
                return None, iso(olson)
            local = zones[tzid].localize(dt.replace(tzinfo=None))
            return iso(local.astimezone(timezone.utc)), iso(olson)

        for ev in cal.walk("VEVENT"):
            start, start_olson = utc(ev, "DTSTART")
            end, end_olson = utc(ev, "DTEND")
            attendees = ev.get("ATTENDEE")
            if attendees is None:
                attendees = []
            elif not isinstance(attendees, list):
                attendees = [attendees]
            seq = ev.get("SEQUENCE")
            out["events"].append({
                "uid": text(ev.get("UID")),
                "sequence": None if seq is None else int(seq),
                "status": text(ev.get("STATUS")),
                "summary": text(ev.get("SUMMARY")),
                "dtstart_utc": start,
                "dtend_utc": end,
                "dtstart_utc_olson": start_olson,
                "dtend_utc_olson": end_olson,
                "tzid": text(ev["DTSTART"].params.get("TZID")) if "DTSTART" in ev else None,
                "organizer": text(ev.get("ORGANIZER")),
                "attendee": text(attendees[0]) if len(attendees) == 1 else None,
                "attendees": [text(a) for a in attendees],
                "organizer_name": cn(ev.get("ORGANIZER")),
                "attendee_names": [cn(a) for a in attendees],
                "location": text(ev.get("LOCATION")),
                "url": text(ev.get("URL")),
                "description": text(ev.get("DESCRIPTION")),
                "alarms": [trigger(a) for a in ev.walk("VALARM")],
            })
    except Exception as e:  # report, never crash: the Go test reads the JSON
        out["errors"].append("%s: %s" % (type(e).__name__, e))
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


def text(v):
    return None if v is None else str(v)


def iso(dt):
    return None if dt is None else dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def trigger(alarm):
    t = alarm.get("TRIGGER")
    if t is None:
        return None
    # vDDDTypes keeps the original text: -PT15M, not a timedelta's repr.
    return t.to_ical().decode("utf-8")


if __name__ == "__main__":
    main()
