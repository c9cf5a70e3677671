package traded_test

import (
	"strings"
	"testing"

	"traded"
)

func TestCleanLine(t *testing.T) {
	for _, ok := range []string{`Jo "JJ" Smith`, "Seán Ó Briain", "Ŵyn ap Llŷr", "Łukasz Żółć", "فاطمة", "王小明 🎓", "👩🏽‍🏫 Ms O'Neil", `a\b;c,d`} {
		got, err := traded.CleanLine("name", "name", "  "+ok+"\t", traded.MaxName)
		if err != nil || got != ok {
			t.Errorf("CleanLine(%q) = %q, %v; want it unchanged", ok, got, err)
		}
	}
	for _, bad := range []string{"Jo\nSmith", "Jo\r\nSmith", "Jo\u2028Smith", "Jo\x07Smith", "Jo\x00", "Jo\u202eSmith", "\xff\xfe", "Jo\tSmith",
		strings.Repeat("é", traded.MaxName+1)} {
		_, err := traded.CleanLine("name", "name", bad, traded.MaxName)
		if traded.ErrorCode(err) != traded.EINVALID || traded.ErrorField(err) != "name" {
			t.Errorf("CleanLine(%q): %v, want EINVALID on name", bad, err)
		}
	}
	if _, err := traded.CleanLine("name", "name", strings.Repeat("é", traded.MaxName), traded.MaxName); err != nil {
		t.Errorf("a name of %d two-byte characters: %v (the limit counts characters)", traded.MaxName, err)
	}
}

func TestCleanText(t *testing.T) {
	got, err := traded.CleanText("reason", "reason", " One place unused;\r\nthe other\rmoved\tlater\n", traded.MaxText)
	if err != nil || got != "One place unused;\nthe other\nmoved\tlater" {
		t.Errorf("CleanText: %q, %v", got, err)
	}
	for _, bad := range []string{"a\x1bb", "a\x7f", "a\u0085b"} {
		if _, err := traded.CleanText("reason", "reason", bad, traded.MaxText); traded.ErrorCode(err) != traded.EINVALID {
			t.Errorf("CleanText(%q): %v, want EINVALID", bad, err)
		}
	}
	if got := traded.OneLine(" a\r\n b\tc  "); got != "a b c" {
		t.Errorf("OneLine: %q", got)
	}
}

func TestClip(t *testing.T) {
	if got := traded.Clip("Łódź", 4); got != "Łódź" {
		t.Errorf("Clip at the length: %q", got)
	}
	if got := traded.Clip("Łódźxyz", 4); got != "Łód…" {
		t.Errorf("Clip: %q", got)
	}
}
