#!/usr/bin/python3
"""check.py reads back what Traded wrote with parsers Traded does not use to
write it, for the Go property test over every emitter (web/emitters_test.go).

    /usr/bin/python3 tests/emitters/check.py MANIFEST.json

The manifest is a list of checks, each {"kind", "path", "want", ...}:

  mail  an RFC 5322 message: the To display name (email, policy.default)
  csv   a CSV export (csv, UTF-8 with the byte order mark): the cell in column
        "column" of the row whose "key_column" is "key"
  html  a page (html.parser): "want" appears in the text of <main>
  ics   an iCalendar file (icalendar): the CN of the one ATTENDEE, RFC 6868
        decoded (icalendar 4 predates RFC 6868)
  pdf   a PDF (pdftotext -enc UTF-8, poppler): "want" appears in the text,
        white space folded
  drawn a PDF line by line as its characters are drawn, left to right
        (pdfminer, which does no bidirectional reordering): "want", a name
        with right-to-left text, appears on consecutive lines, each line
        the visual order GNU FriBidi (fribidi --ltr) gives for one run of
        the name's space-separated words, brackets mirrored, characters
        beyond U+FFFF drawn as U+FFFD. pdftotext is no judge of these:
        poppler guesses each line's direction and reorders it itself

It prints one {"ok", "got"} per check, as a JSON list, and never raises.
"""
import csv
import email
import email.policy
import io
import json
import subprocess
import sys
from html.parser import HTMLParser


class MainText(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.parts = []

    def handle_starttag(self, tag, attrs):
        if tag == "main":
            self.depth += 1

    def handle_endtag(self, tag):
        if tag == "main":
            self.depth -= 1

    def handle_data(self, data):
        if self.depth > 0:
            self.parts.append(data)


def rfc6868(raw):
    out, i = [], 0
    while i < len(raw):
        if raw[i] == "^" and i + 1 < len(raw) and raw[i + 1] in "n'^":
            out.append({"n": "\n", "'": '"', "^": "^"}[raw[i + 1]])
            i += 2
        else:
            out.append(raw[i])
            i += 1
    return "".join(out)


_ics = {}


def ics_names(path):
    """The ATTENDEE CNs of every event of a calendar, read once per file."""
    if path not in _ics:
        import icalendar
        with open(path, "rb") as f:
            cal = icalendar.Calendar.from_ical(f.read())
        errors = [e for comp in cal.walk() for e in comp.errors]
        names = []
        for ev in cal.walk("VEVENT"):
            att = ev.get("ATTENDEE")
            for a in att if isinstance(att, list) else [att]:
                if a is not None and "CN" in a.params:
                    names.append(rfc6868(str(a.params["CN"])))
        _ics[path] = (errors, names)
    return _ics[path]


MIRROR = dict(zip("()[]{}<>«»‹›≤≥⁅⁆⁽⁾₍₎", ")(][}{><»«›‹≥≤⁆⁅⁾⁽₎₍"))


def fold(s):
    return " ".join(s.split())


def fribidi_visual(lines):
    """Each logical line as it is seen in a left-to-right paragraph."""
    out = subprocess.run(["fribidi", "--ltr", "--nopad", "--nobreak", "--novisual", "--vtol", "--levels"],
                         input="\n".join(lines) + "\n", capture_output=True, check=True, text=True).stdout.split("\n")
    seen = []
    for k, line in enumerate(lines):
        vtol = [int(x) for x in out[2 * k].split()]
        levels = [int(x) for x in out[2 * k + 1].split()]
        chars = []
        for i in vtol:
            ch = line[i]
            if levels[i] % 2:
                ch = MIRROR.get(ch, ch)
            chars.append("\ufffd" if ord(ch) > 0xFFFF else ch)
        seen.append(fold("".join(chars)))
    return seen


def drawn_lines(path):
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTTextContainer
    lines = []
    for page in extract_pages(path):
        for box in page:
            if isinstance(box, LTTextContainer):
                lines += [fold(line.get_text()) for line in box]
    return lines


def check_drawn(path, want):
    words = want.split(" ")
    runs = [(a, b) for a in range(len(words)) for b in range(a + 1, len(words) + 1)]
    seen = dict(zip(runs, fribidi_visual([" ".join(words[a:b]) for a, b in runs])))
    lines = drawn_lines(path)
    for start in range(len(lines)):
        at, i = 0, start
        while at < len(words) and i < len(lines):
            b = next((b for b in range(len(words), at, -1) if seen[(at, b)] == lines[i]), None)
            if b is None:
                break
            at, i = b, i + 1
        if at == len(words):
            return True, lines[start:i]
    return False, lines[:12]


def check(c):
    kind, path, want = c["kind"], c["path"], c["want"]
    if kind == "mail":
        with open(path, "rb") as f:
            m = email.message_from_bytes(f.read(), policy=email.policy.default)
        got = m["To"].addresses[0].display_name
        return got == want and not m.defects, got
    if kind == "csv":
        with open(path, "rb") as f:
            text = f.read().decode("utf-8-sig")
        for row in csv.DictReader(io.StringIO(text, newline="")):
            if row.get(c["key_column"]) == c["key"]:
                got = row.get(c["column"])
                return got == want, got
        return False, None
    if kind == "html":
        p = MainText()
        with open(path, encoding="utf-8") as f:
            p.feed(f.read())
        text = " ".join("".join(p.parts).split())
        return " ".join(want.split()) in text, text[:300]
    if kind == "ics":
        errors, names = ics_names(path)
        return want in names and not errors, names if len(names) < 5 else "%d names" % len(names)
    if kind == "pdf":
        text = subprocess.run(["pdftotext", "-enc", "UTF-8", path, "-"], capture_output=True, check=True).stdout.decode("utf-8")
        folded = " ".join(text.split())
        return " ".join(want.split()) in folded, folded[:300]
    if kind == "drawn":
        return check_drawn(path, want)
    return False, "unknown kind " + kind


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        checks = json.load(f)
    out = []
    for c in checks:
        try:
            ok, got = check(c)
            out.append({"ok": bool(ok), "got": got})
        except Exception as e:  # report, never crash: the Go test reads the JSON
            out.append({"ok": False, "got": "%s: %s" % (type(e).__name__, e)})
    json.dump(out, sys.stdout, ensure_ascii=False)


main()
