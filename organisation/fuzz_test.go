package organisation_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"traded"
	"traded/organisation"
	"traded/store"
	"traded/store/storetest"
)

// fuzzGIASHeader is the start of a GIAS header with every column ImportSchools
// requires, for hand-made seeds.
const fuzzGIASHeader = `"URN","LA (code)","LA (name)","EstablishmentName","TypeOfEstablishment (name)","EstablishmentStatus (name)","Town","Postcode"`

// FuzzImportSchools feeds arbitrary bytes to ImportSchools as a GIAS file.
// One database serves every input, so each input is checked against what all
// the inputs before it left:
//
//   - it never panics;
//   - an error carries a user-facing code (EINTERNAL would be a fault of ours:
//     the database is healthy), and EINVALID writes nothing at all;
//   - a report's counts add up: Rows = Created + Updated + Unchanged + Closed
//   - Skipped + len(Rejected), Created is how many organisations appeared,
//     and every rejected row is on a line after the header;
//   - every organisation has a name that is not blank, a valid tier and a
//     positive URN, and a tier history whose latest entry is its tier;
//   - importing the same file again changes nothing (as documented).
func FuzzImportSchools(f *testing.F) {
	for _, name := range []string{"gias_sample.csv", "gias_converted.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"",
		"\r\n",
		"\xEF\xBB\xBF",
		fuzzGIASHeader,
		fuzzGIASHeader + "\r\n",
		// A small valid file, LF and CRLF, each tier, closed known and unknown.
		fuzzGIASHeader + "\n114001,881,Essex,Hillside Primary,Community school,Open,Chelmsford,CM2 7AA\n" +
			"137003,881,Essex,Oak Academy,Academy converter,Open,Harlow,CM20 1AA\n" +
			"140004,882,Southend-on-Sea,Shore Primary,Community school,Open,Southend,SS1 1AA\n",
		fuzzGIASHeader + "\r\n114001,881,Essex,Hillside Primary,Academy converter,Open,Chelmsford,CM2 7AA\r\n" +
			"140004,882,Southend-on-Sea,Shore Primary,Community school,Closed,Southend,SS1 1AA\r\n" +
			"150005,881,Essex,Gone School,Community school,closed,Witham,CM8 1AA\r\n",
		// A UTF-8 file with its byte-order mark; and one whose bytes after the mark are not UTF-8.
		"\xEF\xBB\xBF" + fuzzGIASHeader + "\n114010,881,Essex,École Saint-André,Community school,Open,Chelmsford,CM1 1AA\n",
		"\xEF\xBB\xBF" + fuzzGIASHeader + "\n114011,881,Essex,Bad \xff\xfe UTF-8,Community school,Open,Chelmsford,CM1 1AA\n",
		// Windows-1252: a right quote (0x92), the pound sign, and bytes 1252 leaves undefined.
		fuzzGIASHeader + "\n114012,881,Essex,St Mary\x92s \xA3 \x81\x8D\x8F\x90\x9D,Community school,Open,Chelmsford,CM1 1AA\n",
		// Required columns missing; columns repeated; spaces round header names.
		`"URN","LA (code)","EstablishmentName"` + "\n1,881,X\n",
		`"URN","URN"," LA (code) ","EstablishmentName","TypeOfEstablishment (name)","EstablishmentStatus (name)"` + "\n1,2,881,X,Community school,Open\n",
		// Wrong field counts, bad URNs and LA codes, blank names, duplicates.
		fuzzGIASHeader + "\n114020,881,Essex\n114021,881,Essex,A,Community school,Open,T,P,extra\n",
		fuzzGIASHeader + "\n0,881,E,A,Community school,Open,T,P\n-5,881,E,A,Community school,Open,T,P\n1e5,881,E,A,Community school,Open,T,P\n" +
			"99999999999999999999,881,E,A,Community school,Open,T,P\n100000000,881,E,A,Community school,Open,T,P\n,881,E,A,Community school,Open,T,P\n",
		fuzzGIASHeader + "\n114030,x,E,A,Community school,Open,T,P\n114031,9223372036854775807,E,A,Community school,Open,T,P\n114032,-881,E,A,Community school,Open,T,P\n",
		fuzzGIASHeader + "\n114040,881,E,,Community school,Open,T,P\n114041,881,E,   ,Community school,Open,T,P\n114042,881,E,\xA0,Community school,Open,T,P\n",
		fuzzGIASHeader + "\n114050,881,E,First,Community school,Open,T,P\n 114050 ,881,E,Second,Community school,Open,T,P\n0114050,881,E,Third,Community school,Open,T,P\n",
		// Quotes: escaped, bare, unterminated, a newline inside a field.
		fuzzGIASHeader + "\n114060,881,E,\"The \"\"Old\"\" School\",Community school,Open,T,P\n" +
			"114061,881,E,Bare \" quote,Community school,Open,T,P\n" +
			"114062,881,E,\"Two\nlines\",Community school,Open,T,P\n" +
			"114063,881,E,\"Unterminated,Community school,Open,T,P\n",
		// Lone CRs, NULs and other control characters.
		fuzzGIASHeader + "\r114070,881,E,CR only,Community school,Open,T,P\r",
		fuzzGIASHeader + "\n114071,881,E,Nul\x00Name,Community\x00school,Open,T,P\n\x00\x00\x00\n",
		"\x00" + fuzzGIASHeader + "\n114072,881,E,A,Community school,Open,T,P\n",
		// Semicolons, tabs: not this file.
		"URN;LA (code);EstablishmentName\n1;881;X\n",
		"URN\tLA (code)\tEstablishmentName\tTypeOfEstablishment (name)\tEstablishmentStatus (name)\n1\t881\tX\tCommunity school\tOpen\n",
		fuzzGIASHeader + "\n114080,881,E," + strings.Repeat("Long ", 2000) + ",Community school,Open,T,P\n",
	} {
		f.Add([]byte(s))
	}

	db, _ := storetest.Open(f)
	svc := organisation.New(db)
	ctx := context.Background()
	actor := store.Actor{Name: "fuzz@test"}

	f.Fuzz(func(t *testing.T, data []byte) {
		before := fuzzCounts(t, db)
		report, err := svc.ImportSchools(ctx, bytes.NewReader(data), int64(len(data)), organisation.ImportOptions{Actor: actor, Progress: io.Discard})
		after := fuzzCounts(t, db)
		switch code := traded.ErrorCode(err); code {
		case "":
		case traded.EINTERNAL:
			t.Fatalf("ImportSchools: internal error on a healthy database (bad input must have a code): %v", err)
		default:
			if code != traded.EINVALID {
				t.Errorf("ImportSchools: got code %s, want %s: %v", code, traded.EINVALID, err)
			}
			if report != nil {
				t.Errorf("ImportSchools: %s error with a report: %+v", code, report)
			}
			if after != before {
				t.Errorf("ImportSchools: %s error but wrote: before %+v, after %+v", code, before, after)
			}
		}
		fuzzCheckOrganisations(t, db)
		if err != nil {
			return
		}
		fuzzCheckReport(t, report)
		t.Logf("%s", report.String())
		if got := after.orgs - before.orgs; got != report.Created {
			t.Errorf("organisations grew by %d, report says %d created", got, report.Created)
		}

		again, err := svc.ImportSchools(ctx, bytes.NewReader(data), int64(len(data)), organisation.ImportOptions{Actor: actor})
		if err != nil {
			t.Fatalf("importing the same file again: %v", err)
		}
		fuzzCheckReport(t, again)
		if again.Created != 0 || again.Updated != 0 || again.Closed != 0 {
			t.Errorf("importing the same file again: got %s, want nothing created, updated or closed", again)
		}
		if again.Rows != report.Rows || len(again.Rejected) != len(report.Rejected) {
			t.Errorf("importing the same file again: got %d rows, %d rejected; want %d, %d",
				again.Rows, len(again.Rejected), report.Rows, len(report.Rejected))
		}
		if c := fuzzCounts(t, db); c.orgs != after.orgs || c.tiers != after.tiers {
			t.Errorf("importing the same file again wrote: got %+v, want %+v", c, after)
		}
	})
}

type fuzzRowCounts struct{ orgs, tiers, audit int }

func fuzzCounts(t *testing.T, db *store.DB) fuzzRowCounts {
	t.Helper()
	var c fuzzRowCounts
	err := db.Read().QueryRow(`SELECT (SELECT count(*) FROM organisations), (SELECT count(*) FROM organisation_tiers),
		(SELECT count(*) FROM audit_log)`).Scan(&c.orgs, &c.tiers, &c.audit)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fuzzCheckReport(t *testing.T, r *organisation.ImportReport) {
	t.Helper()
	if r == nil {
		t.Fatal("ImportSchools: no error and no report")
	}
	if sum := r.Created + r.Updated + r.Unchanged + r.Closed + r.Skipped + len(r.Rejected); sum != r.Rows {
		t.Errorf("report does not add up: got %d rows, want %d (%s)", r.Rows, sum, r)
	}
	for _, rej := range r.Rejected {
		if rej.Line < 2 || rej.Reason == "" {
			t.Errorf("rejected row: got line %d reason %q, want a line after the header and a reason", rej.Line, rej.Reason)
		}
	}
}

// fuzzBlankChars are what strings.TrimSpace trims, for SQLite's trim.
const fuzzBlankChars = `' ' || char(9, 10, 11, 12, 13, 133, 160, 5760, 8192, 8193, 8194, 8195, 8196, 8197, 8198, 8199, 8200, 8201, 8202, 8232, 8233, 8239, 8287, 12288)`

// fuzzCheckOrganisations checks every organisation is whole.
func fuzzCheckOrganisations(t *testing.T, db *store.DB) {
	t.Helper()
	for _, q := range []struct{ what, sql string }{
		{"with a blank name", `SELECT count(*) FROM organisations WHERE trim(name, ` + fuzzBlankChars + `) = ''`},
		{"with an invalid tier", `SELECT count(*) FROM organisations WHERE tier NOT IN ('maintained', 'academy', 'external')`},
		{"with a URN that is not positive", `SELECT count(*) FROM organisations WHERE urn <= 0 OR typeof(urn) <> 'integer'`},
		{"without a tier history", `SELECT count(*) FROM organisations o
			WHERE NOT EXISTS (SELECT 1 FROM organisation_tiers h WHERE h.organisation_id = o.id)`},
		{"whose tier is not its latest tier history", `SELECT count(*) FROM organisations o WHERE o.tier_override IS NULL AND o.tier <>
			(SELECT h.tier FROM organisation_tiers h WHERE h.organisation_id = o.id ORDER BY h.effective_from DESC, h.id DESC LIMIT 1)`},
	} {
		var n int
		if err := db.Read().QueryRow(q.sql).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("got %d organisations %s, want 0", n, q.what)
		}
	}
}
