// check.mjs parses an iCalendar file with Mozilla's ical.js (the parser
// Thunderbird uses) and prints what it understood as JSON, for the Go tests
// (booking/invite_test.go) to compare with what Traded meant to say.
//
//   node tests/ics/check.mjs invite.ics
//
// Times with a TZID are resolved through the VTIMEZONE in the file itself:
// ical.js treats a TZID it has no zone for as floating time, so a wrong or
// missing VTIMEZONE shows up as a wrong dtstart_utc (an hour off in summer)
// and a dtstart_zone other than the TZID.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

// ical.js exports no ./package.json: read it beside the module it resolved to.
const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.resolve("ical.js")), "utf8"));
const out = { parser: "ical.js " + pkg.version, method: null, timezones: [], events: [], errors: [] };

function utc(t) {
  if (!t) {
    return null;
  }
  // convertToZone leaves a floating time's wall clock as it is, so a time
  // whose zone was not resolved comes out as that wall clock in UTC, never
  // as whatever zone this machine is in.
  const u = t.convertToZone(ICAL.Timezone.utcTimezone);
  const p = (n, w = 2) => String(n).padStart(w, "0");
  return `${p(u.year, 4)}-${p(u.month)}-${p(u.day)}T${p(u.hour)}:${p(u.minute)}:${p(u.second)}Z`;
}

function zoneOf(t) {
  if (!t || !t.zone) {
    return "floating";
  }
  return t.zone.tzid || "floating";
}

function text(v) {
  return v === null || v === undefined ? null : String(v);
}

try {
  const path = process.argv[2];
  if (!path) {
    throw new Error("usage: node check.mjs FILE.ics");
  }
  const data = readFileSync(path, "utf8");
  let jcal = ICAL.parse(data);
  // One calendar parses to one jCal array; several to a list of them.
  if (Array.isArray(jcal[0])) {
    out.errors.push(`expected one VCALENDAR, found ${jcal.length}`);
    jcal = jcal[0];
  }
  const cal = new ICAL.Component(jcal);
  if (cal.name !== "vcalendar") {
    out.errors.push(`top component is ${cal.name}, want vcalendar`);
  }
  out.method = text(cal.getFirstPropertyValue("method"));
  for (const vtz of cal.getAllSubcomponents("vtimezone")) {
    const tz = new ICAL.Timezone(vtz);
    ICAL.TimezoneService.register(tz);
    out.timezones.push(tz.tzid);
  }
  for (const comp of cal.getAllSubcomponents("vevent")) {
    const ev = new ICAL.Event(comp);
    const start = comp.getFirstProperty("dtstart");
    const attendees = comp.getAllProperties("attendee").map((p) => text(p.getFirstValue()));
    const seq = comp.getFirstPropertyValue("sequence");
    out.events.push({
      uid: text(ev.uid),
      sequence: seq === null ? null : Number(seq),
      status: text(comp.getFirstPropertyValue("status")),
      summary: text(ev.summary),
      dtstart_utc: utc(ev.startDate),
      dtend_utc: utc(ev.endDate),
      tzid: start ? text(start.getParameter("tzid")) : null,
      dtstart_zone: zoneOf(ev.startDate),
      organizer: text(comp.getFirstPropertyValue("organizer")),
      attendee: attendees.length === 1 ? attendees[0] : null,
      attendees,
      organizer_name: text(comp.getFirstProperty("organizer")?.getParameter("cn") ?? null),
      attendee_names: comp.getAllProperties("attendee").map((p) => text(p.getParameter("cn") ?? null)),
      location: text(ev.location),
      url: text(comp.getFirstPropertyValue("url")),
      description: text(ev.description),
      alarms: comp.getAllSubcomponents("valarm").map((a) => text(a.getFirstPropertyValue("trigger"))),
    });
  }
  for (const comp of cal.getAllSubcomponents()) {
    if (!["vtimezone", "vevent"].includes(comp.name)) {
      out.errors.push(`unexpected component ${comp.name}`);
    }
  }
} catch (e) {
  out.errors.push(String(e && e.stack ? e.stack.split("\n")[0] : e));
}
process.stdout.write(JSON.stringify(out) + "\n");
