package organisation_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"traded"
	"traded/organisation"
	"traded/pricing"
	"traded/store"
)

// openDB opens a migrated database in a temporary folder, its clock fixed at
// 2026-11-22 10:00 UTC.
func openDB(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "t.db"), traded.NewFixedClock(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestDeriveTier(t *testing.T) {
	tests := []struct {
		la   int
		typ  string
		want pricing.Tier
	}{
		{881, "Community school", pricing.Maintained},
		{881, "Voluntary aided school", pricing.Maintained},
		{881, "Voluntary controlled school", pricing.Maintained},
		{881, "Foundation school", pricing.Maintained},
		{881, "Community special school", pricing.Maintained},
		{881, "Foundation special school", pricing.Maintained},
		{881, "Pupil referral unit", pricing.Maintained},
		{881, "Local authority nursery school", pricing.Maintained},
		{881, "Academy converter", pricing.Academy},
		{881, "Academy sponsor led", pricing.Academy},
		{881, "Free schools", pricing.Academy},
		{881, "Free schools special", pricing.Academy},
		{881, "Free schools alternative provision", pricing.Academy},
		{881, "Free schools 16 to 19", pricing.Academy},
		{881, "Academy special converter", pricing.Academy},
		{881, "Academy special sponsor led", pricing.Academy},
		{881, "Academy alternative provision converter", pricing.Academy},
		{881, "Academy alternative provision sponsor led", pricing.Academy},
		{881, "Academy 16-19 converter", pricing.Academy},
		{881, "Academy 16 to 19 sponsor led", pricing.Academy},
		{881, "Studio schools", pricing.Academy},
		{881, "University technical college", pricing.Academy},
		// Matched case-insensitively, surrounding spaces ignored.
		{881, "  COMMUNITY SCHOOL ", pricing.Maintained},
		{881, "academy converter", pricing.Academy},
		// Southend-on-Sea and Thurrock are unitary authorities, not Essex.
		{882, "Community school", pricing.External},
		{883, "Academy converter", pricing.External},
		{883, "Academy sponsor led", pricing.External},
		{201, "Community school", pricing.External},
		// Essex, but neither maintained nor an academy.
		{881, "Other independent school", pricing.External},
		{881, "Non-maintained special school", pricing.External},
		{881, "Other independent special school", pricing.External},
		{881, "Further education", pricing.External},
		{881, "", pricing.External},
	}
	for _, tt := range tests {
		if got := organisation.DeriveTier(tt.la, tt.typ); got != tt.want {
			t.Errorf("DeriveTier(%d, %q): got %s, want %s", tt.la, tt.typ, got, tt.want)
		}
	}
}

func importFile(t *testing.T, s *organisation.Service, path string, opts organisation.ImportOptions) *organisation.ImportReport {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := s.ImportSchools(context.Background(), f, fi.Size(), opts)
	if err != nil {
		t.Fatalf("ImportSchools(%s): %v", path, err)
	}
	return rep
}

type counts struct{ Rows, Created, Updated, Unchanged, Closed, Skipped, Rejected int }

func countsOf(r *organisation.ImportReport) counts {
	return counts{r.Rows, r.Created, r.Updated, r.Unchanged, r.Closed, r.Skipped, len(r.Rejected)}
}

func mustFindURN(t *testing.T, s *organisation.Service, urn int64) *organisation.Organisation {
	t.Helper()
	o, err := s.FindByURN(context.Background(), urn)
	if err != nil {
		t.Fatalf("FindOrganisationByURN(%d): %v", urn, err)
	}
	return o
}

func countRows(t *testing.T, db *store.DB, query string) int {
	t.Helper()
	var n int
	if err := db.Read().QueryRow(query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestService_ImportSchools(t *testing.T) {
	ctx := context.Background()

	t.Run("Sample", func(t *testing.T) {
		db := openDB(t)
		s := organisation.New(db)
		var progress bytes.Buffer
		rep := importFile(t, s, "testdata/gias_sample.csv", organisation.ImportOptions{Progress: &progress, Actor: store.Actor{Name: "cli"}})

		t.Logf("report:\n%s", rep)
		if got, want := countsOf(rep), (counts{Rows: 12, Created: 8, Skipped: 1, Rejected: 3}); got != want {
			t.Errorf("counts: got %+v, want %+v\n%s", got, want, rep)
		}
		wantRejected := []struct {
			line int
			urn  string
			frag string
		}{
			{9, "12A45", "URN"},
			{10, "114006", "fields"},
			{11, "114001", "duplicate URN: already on line 2"},
		}
		if len(rep.Rejected) == len(wantRejected) {
			for i, w := range wantRejected {
				got := rep.Rejected[i]
				if got.Line != w.line || got.URN != w.urn || !strings.Contains(got.Reason, w.frag) {
					t.Errorf("rejected[%d]: got %+v, want line %d, URN %s, reason containing %q", i, got, w.line, w.urn, w.frag)
				}
			}
		}
		if progress.Len() != 0 {
			t.Errorf("progress on a small file: got %q, want nothing", progress.String())
		}

		tiers := map[int64]pricing.Tier{
			114001: pricing.Maintained, // community school
			115002: pricing.Maintained, // voluntary aided
			137003: pricing.Academy,    // academy converter
			145004: pricing.Academy,    // free school
			114900: pricing.External,   // Southend community school
			136901: pricing.External,   // Thurrock academy
			115120: pricing.Maintained, // foundation school, open but proposed to close
			115300: pricing.Maintained, // community special school
		}
		for urn, want := range tiers {
			o := mustFindURN(t, s, urn)
			if o.Tier != want || o.DerivedTier != want {
				t.Errorf("URN %d tier: got %s (derived %s), want %s", urn, o.Tier, o.DerivedTier, want)
			}
			if o.Kind != "school" {
				t.Errorf("URN %d kind: got %q, want school", urn, o.Kind)
			}
			h, err := s.TierHistory(ctx, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(h) != 1 || h[0].Tier != want || h[0].EffectiveFrom != "2026-11-22" || h[0].Source != "gias" {
				t.Errorf("URN %d tier history: got %+v, want one %s entry from 2026-11-22 by gias", urn, h, want)
			}
		}

		mary := mustFindURN(t, s, 115002)
		if want := "St Mary\u2019s C of E Primary School"; mary.Name != want {
			t.Errorf("name: got %q, want %q (0x92 is U+2019 in Windows-1252)", mary.Name, want)
		}
		if mary.Street != "Church Lane, Bocking" || mary.Town != "Braintree" || mary.Postcode != "CM7 5SA" ||
			mary.LACode != 881 || mary.LAName != "Essex" || mary.County != "Essex" || mary.District != "Braintree" ||
			mary.EstablishmentNumber != "3002" || mary.EstablishmentType != "Voluntary aided school" ||
			mary.TypeGroup != "Local authority maintained schools" || mary.Phase != "Primary" ||
			mary.Status != "Open" || mary.Closed {
			t.Errorf("St Mary's: got %+v", mary)
		}
		brook := mustFindURN(t, s, 115120)
		if brook.Name != "Brook Lane Foundation School" || brook.Street != "Brook Lane" {
			t.Errorf("fields not trimmed: got name %q, street %q", brook.Name, brook.Street)
		}
		if brook.Status != "Open, but proposed to close" || brook.Closed {
			t.Errorf("status: got %q (closed %v), want Open, but proposed to close (open)", brook.Status, brook.Closed)
		}
		if hill := mustFindURN(t, s, 114001); hill.Name != "Hillside Community Primary School" {
			t.Errorf("duplicate row overwrote the first: got name %q", hill.Name)
		}
		for _, urn := range []int64{114005, 114006} { // closed and never known; truncated row
			if _, err := s.FindByURN(ctx, urn); traded.ErrorCode(err) != traded.ENOTFOUND {
				t.Errorf("URN %d: got error %v, want ENOTFOUND", urn, err)
			}
		}

		if n := countRows(t, db, `SELECT count(*) FROM organisations`); n != 8 {
			t.Errorf("organisations: got %d, want 8", n)
		}
		var actor, detail string
		if err := db.Read().QueryRow(`SELECT actor, detail FROM audit_log WHERE action = 'organisations.import'`).Scan(&actor, &detail); err != nil {
			t.Fatalf("audit entry: %v", err)
		}
		if want := "created 8, updated 0, unchanged 0, marked closed 0, skipped 1 (closed), rejected 3"; actor != "cli" || detail != want {
			t.Errorf("audit: got %s %q, want cli %q", actor, detail, want)
		}

		t.Run("SecondImportUnchanged", func(t *testing.T) {
			rep := importFile(t, s, "testdata/gias_sample.csv", organisation.ImportOptions{EffectiveFrom: "2027-01-05"})
			if got, want := countsOf(rep), (counts{Rows: 12, Unchanged: 8, Skipped: 1, Rejected: 3}); got != want {
				t.Errorf("counts: got %+v, want %+v", got, want)
			}
			if n := countRows(t, db, `SELECT count(*) FROM organisation_tiers`); n != 8 {
				t.Errorf("tier history rows: got %d, want 8", n)
			}
			if n := countRows(t, db, `SELECT count(*) FROM audit_log WHERE action = 'organisations.import'`); n != 2 {
				t.Errorf("import audit entries: got %d, want 2 (one per import)", n)
			}
		})
	})

	t.Run("AcademyConversionAndClosure", func(t *testing.T) {
		db := openDB(t)
		s := organisation.New(db)
		importFile(t, s, "testdata/gias_sample.csv", organisation.ImportOptions{})
		rep := importFile(t, s, "testdata/gias_converted.csv", organisation.ImportOptions{EffectiveFrom: "2026-12-01"})
		if got, want := countsOf(rep), (counts{Rows: 9, Updated: 1, Unchanged: 6, Closed: 1, Skipped: 1}); got != want {
			t.Errorf("counts: got %+v, want %+v\n%s", got, want, rep)
		}

		// The conversion is effective on 1 December: on 22 November the
		// school is still maintained, whatever its new name and type.
		hill := mustFindURN(t, s, 114001)
		if hill.Tier != pricing.Maintained || hill.Name != "Hillside Academy" || hill.EstablishmentType != "Academy converter" {
			t.Errorf("converted school before its effective date: got tier %s, name %q, type %q; want maintained, Hillside Academy, Academy converter",
				hill.Tier, hill.Name, hill.EstablishmentType)
		}
		db.Clock.(*traded.FixedClock).Set(time.Date(2026, 12, 1, 0, 0, 0, 0, traded.London))
		if hill := mustFindURN(t, s, 114001); hill.Tier != pricing.Academy {
			t.Errorf("converted school on its effective date: got tier %s, want academy", hill.Tier)
		}
		h, err := s.TierHistory(ctx, hill.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != 2 || h[0].Tier != pricing.Maintained || h[0].EffectiveFrom != "2026-11-22" ||
			h[1].Tier != pricing.Academy || h[1].EffectiveFrom != "2026-12-01" || h[1].Source != "gias" {
			t.Errorf("tier history: got %+v, want maintained from 2026-11-22 then academy from 2026-12-01", h)
		}

		mary := mustFindURN(t, s, 115002)
		if !mary.Closed || mary.Status != "Closed" || mary.Tier != pricing.Maintained {
			t.Errorf("closed school: got closed %v, status %q, tier %s; want closed, Closed, maintained", mary.Closed, mary.Status, mary.Tier)
		}
		open := true
		if _, total, err := s.Find(ctx, organisation.Filter{OpenOnly: open}); err != nil || total != 7 {
			t.Errorf("open organisations: got %d (%v), want 7", total, err)
		}

		rep = importFile(t, s, "testdata/gias_converted.csv", organisation.ImportOptions{EffectiveFrom: "2026-12-02"})
		if got, want := countsOf(rep), (counts{Rows: 9, Unchanged: 8, Skipped: 1}); got != want {
			t.Errorf("re-import counts: got %+v, want %+v", got, want)
		}
	})

	t.Run("EffectiveFromDefaultsToTodayInLondon", func(t *testing.T) {
		db := openDB(t)
		// 23:30 UTC on 30 June is 00:30 BST on 1 July.
		db.Clock.(*traded.FixedClock).Set(time.Date(2026, 6, 30, 23, 30, 0, 0, time.UTC))
		s := organisation.New(db)
		importFile(t, s, "testdata/gias_sample.csv", organisation.ImportOptions{})
		h, err := s.TierHistory(ctx, mustFindURN(t, s, 114001).ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != 1 || h[0].EffectiveFrom != "2026-07-01" {
			t.Errorf("tier history: got %+v, want one entry from 2026-07-01", h)
		}
	})

	t.Run("InvalidEffectiveFrom", func(t *testing.T) {
		s := organisation.New(openDB(t))
		_, err := s.ImportSchools(ctx, strings.NewReader(""), 0, organisation.ImportOptions{EffectiveFrom: "1/9/2026"})
		if traded.ErrorCode(err) != traded.EINVALID || traded.ErrorField(err) != "effective" {
			t.Errorf("got %v, want EINVALID on effective", err)
		}
	})

	t.Run("MissingColumns", func(t *testing.T) {
		db := openDB(t)
		s := organisation.New(db)
		in := "\"URN\",\"LA (name)\",\"EstablishmentName\",\"TypeOfEstablishment (name)\"\r\n" +
			"114001,\"Essex\",\"Hillside Community Primary School\",\"Community school\"\r\n"
		_, err := s.ImportSchools(ctx, strings.NewReader(in), int64(len(in)), organisation.ImportOptions{})
		if traded.ErrorCode(err) != traded.EINVALID {
			t.Fatalf("got %v, want EINVALID", err)
		}
		msg := traded.ErrorMessage(err)
		for _, col := range []string{`"LA (code)"`, `"EstablishmentStatus (name)"`} {
			if !strings.Contains(msg, col) {
				t.Errorf("message %q does not name %s", msg, col)
			}
		}
		if strings.Contains(msg, `"URN"`) {
			t.Errorf("message %q names URN, which is there", msg)
		}
		if n := countRows(t, db, `SELECT (SELECT count(*) FROM organisations) + (SELECT count(*) FROM audit_log)`); n != 0 {
			t.Errorf("rows written: got %d, want 0", n)
		}
	})

	t.Run("EmptyFile", func(t *testing.T) {
		s := organisation.New(openDB(t))
		if _, err := s.ImportSchools(ctx, strings.NewReader(""), 0, organisation.ImportOptions{}); traded.ErrorCode(err) != traded.EINVALID {
			t.Errorf("got %v, want EINVALID", err)
		}
	})

	t.Run("UTF8WithBOM", func(t *testing.T) {
		s := organisation.New(openDB(t))
		in := "\xEF\xBB\xBF\"URN\",\"LA (code)\",\"EstablishmentName\",\"TypeOfEstablishment (name)\",\"EstablishmentStatus (name)\"\n" +
			"115002,881,\"St Mary’s C of E Primary School\",\"Voluntary aided school\",\"Open\"\n" +
			"114001,881,\"Café Crèche Nursery School\",\"Local authority nursery school\",\"Open\"\n"
		rep, err := s.ImportSchools(ctx, strings.NewReader(in), int64(len(in)), organisation.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := countsOf(rep), (counts{Rows: 2, Created: 2}); got != want {
			t.Errorf("counts: got %+v, want %+v\n%s", got, want, rep)
		}
		if o := mustFindURN(t, s, 115002); o.Name != "St Mary\u2019s C of E Primary School" || o.Tier != pricing.Maintained {
			t.Errorf("got %q (%s), want St Mary\u2019s C of E Primary School (maintained)", o.Name, o.Tier)
		}
		if o := mustFindURN(t, s, 114001); o.Name != "Café Crèche Nursery School" {
			t.Errorf("got %q, want Café Crèche Nursery School", o.Name)
		}
	})

	t.Run("LargeFileProgress", func(t *testing.T) {
		const n = 12_000
		var b bytes.Buffer
		b.WriteString(`"URN","LA (code)","LA (name)","EstablishmentName","TypeOfEstablishment (name)","EstablishmentStatus (name)","Postcode","UKPRN"` + "\r\n")
		for i := range n {
			la, typ := 881, "Community school"
			switch i % 4 {
			case 1:
				typ = "Academy converter"
			case 2:
				la = 882
			case 3:
				typ = "Other independent school"
			}
			fmt.Fprintf(&b, "%d,\"%d\",\"LA %d\",\"School %d \x92s\",\"%s\",\"Open\",\"CM%d 1AA\",\"\"\r\n", 200000+i, la, la, i, typ, i%20)
		}
		path := filepath.Join(t.TempDir(), "edubasealldata.csv")
		if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}

		db := openDB(t)
		s := organisation.New(db)
		var progress bytes.Buffer
		rep := importFile(t, s, path, organisation.ImportOptions{Progress: &progress})
		if got, want := countsOf(rep), (counts{Rows: n, Created: n}); got != want {
			t.Errorf("counts: got %+v, want %+v", got, want)
		}
		t.Logf("progress:\n%s", progress.String())
		lines := strings.Split(strings.TrimSpace(progress.String()), "\n")
		re := regexp.MustCompile(`^imported (5,000|10,000) rows \((\d+)%\)$`)
		if len(lines) != 2 || !re.MatchString(lines[0]) || !re.MatchString(lines[1]) ||
			!strings.HasPrefix(lines[0], "imported 5,000 ") || !strings.HasPrefix(lines[1], "imported 10,000 ") {
			t.Errorf("progress: got %q, want two lines, at 5,000 and 10,000 rows, with percentages", progress.String())
		}
		if n := countRows(t, db, `SELECT count(*) FROM organisations WHERE tier = 'academy'`); n != 3000 {
			t.Errorf("academies: got %d, want 3000", n)
		}

		// Unknown size: no percentage. Same file again: nothing changes.
		progress.Reset()
		rep, err := s.ImportSchools(ctx, bytes.NewReader(b.Bytes()), 0, organisation.ImportOptions{Progress: &progress})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := countsOf(rep), (counts{Rows: n, Unchanged: n}); got != want {
			t.Errorf("re-import counts: got %+v, want %+v", got, want)
		}
		if got, want := progress.String(), "imported 5,000 rows\nimported 10,000 rows\n"; got != want {
			t.Errorf("progress without size: got %q, want %q", got, want)
		}
	})
}

func TestImportReport_String(t *testing.T) {
	r := &organisation.ImportReport{Rows: 9, Created: 3, Updated: 1, Closed: 1, Skipped: 2, Rejected: []organisation.RejectedRow{
		{Line: 7, URN: "123", Reason: "EstablishmentName is empty"},
		{Line: 9, Reason: "cannot read the row"},
	}}
	want := "created 3, updated 1, unchanged 0, marked closed 1, skipped 2 (closed), rejected 2\n" +
		"line 7: URN 123: EstablishmentName is empty\n" +
		"line 9: cannot read the row"
	if got := r.String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
