package organisation

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"traded"
	"traded/pricing"
	"traded/store"
)

// EssexLACode is the GIAS "LA (code)" of Essex County Council. Southend-on-Sea
// (882) and Thurrock (883) are separate unitary authorities, so not Essex.
const EssexLACode = 881

// maintainedTypes and academyTypes are GIAS "TypeOfEstablishment (name)"
// values, lower-cased; DeriveTier documents them as GIAS spells them.
var maintainedTypes = typeSet(
	"Community school",
	"Voluntary aided school",
	"Voluntary controlled school",
	"Foundation school",
	"Community special school",
	"Foundation special school",
	"Pupil referral unit",
	"Local authority nursery school",
)

var academyTypes = typeSet(
	"Academy converter",
	"Academy sponsor led",
	"Free schools",
	"Free schools special",
	"Free schools alternative provision",
	"Free schools 16 to 19",
	"Academy special converter",
	"Academy special sponsor led",
	"Academy alternative provision converter",
	"Academy alternative provision sponsor led",
	"Academy 16-19 converter",
	"Academy 16 to 19 sponsor led",
	"Studio schools",
	"University technical college",
)

func typeSet(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[strings.ToLower(n)] = true
	}
	return m
}

// DeriveTier returns the tier GIAS implies for an establishment with the LA
// code and GIAS "TypeOfEstablishment (name)" (matched case-insensitively,
// surrounding spaces ignored). It returns no error.
//
// Maintained is LA code 881 (Essex) and one of the maintained types:
// "Community school", "Voluntary aided school", "Voluntary controlled
// school", "Foundation school", "Community special school", "Foundation
// special school", "Pupil referral unit", "Local authority nursery school".
//
// Academy is LA code 881 and one of the academy and free-school types:
// "Academy converter", "Academy sponsor led", "Free schools", "Free schools
// special", "Free schools alternative provision", "Free schools 16 to 19",
// "Academy special converter", "Academy special sponsor led", "Academy
// alternative provision converter", "Academy alternative provision sponsor
// led", "Academy 16-19 converter", "Academy 16 to 19 sponsor led", "Studio
// schools", "University technical college".
//
// Everything else is External: any school outside LA 881, Southend-on-Sea
// (882) and Thurrock (883) included, and Essex establishments of any other
// type (independent and non-maintained special schools, FE colleges, ...).
// The EstablishmentTypeGroup is deliberately not used: its "Special schools"
// group holds maintained and non-maintained special schools alike.
func DeriveTier(laCode int, typeOfEstablishment string) pricing.Tier {
	if laCode != EssexLACode {
		return pricing.External
	}
	t := strings.ToLower(strings.TrimSpace(typeOfEstablishment))
	switch {
	case maintainedTypes[t]:
		return pricing.Maintained
	case academyTypes[t]:
		return pricing.Academy
	}
	return pricing.External
}

// ImportOptions tunes ImportSchools.
type ImportOptions struct {
	// EffectiveFrom (YYYY-MM-DD) is the date from which a tier change the
	// file implies takes effect; "" means today in Europe/London.
	EffectiveFrom string
	// Progress, when not nil, gets a line every 5,000 rows.
	Progress io.Writer
	// Actor is who the audit log says ran the import.
	Actor store.Actor
}

// ImportReport says what ImportSchools did. Every data row of the file is
// counted once: Rows = Created + Updated + Unchanged + Closed + Skipped +
// len(Rejected).
type ImportReport struct {
	Rows      int // data rows read, the header not counted
	Created   int
	Updated   int
	Unchanged int
	Closed    int // known organisations that GIAS now lists as closed
	Skipped   int // closed establishments we never had
	Rejected  []RejectedRow
}

// RejectedRow is a row ImportSchools wrote nothing of, and why.
type RejectedRow struct {
	Line   int    // line of the file the row starts on, the header being line 1
	URN    string // as written in the file
	Reason string
}

// String summarises the report for a person: one line of counts, then one
// line per rejected row. It returns no error.
func (r *ImportReport) String() string {
	var b strings.Builder
	b.WriteString(r.summary())
	for _, rej := range r.Rejected {
		b.WriteString("\n")
		if rej.URN != "" {
			fmt.Fprintf(&b, "line %d: URN %s: %s", rej.Line, rej.URN, rej.Reason)
		} else {
			fmt.Fprintf(&b, "line %d: %s", rej.Line, rej.Reason)
		}
	}
	return b.String()
}

func (r *ImportReport) summary() string {
	return fmt.Sprintf("created %d, updated %d, unchanged %d, marked closed %d, skipped %d (closed), rejected %d",
		r.Created, r.Updated, r.Unchanged, r.Closed, r.Skipped, len(r.Rejected))
}

func (r *ImportReport) reject(line int, urn, format string, args ...any) {
	r.Rejected = append(r.Rejected, RejectedRow{Line: line, URN: urn, Reason: fmt.Sprintf(format, args...)})
}

// GIAS column names, exactly as the all-establishments download spells them.
const (
	colURN           = "URN"
	colLACode        = "LA (code)"
	colLAName        = "LA (name)"
	colEstabNumber   = "EstablishmentNumber"
	colName          = "EstablishmentName"
	colType          = "TypeOfEstablishment (name)"
	colTypeGroup     = "EstablishmentTypeGroup (name)"
	colStatus        = "EstablishmentStatus (name)"
	colPhase         = "PhaseOfEducation (name)"
	colStreet        = "Street"
	colLocality      = "Locality"
	colAddress3      = "Address3"
	colTown          = "Town"
	colCounty        = "County (name)"
	colPostcode      = "Postcode"
	colDistrict      = "DistrictAdministrative (name)"
	statusClosed     = "Closed"
	importBatchSize  = 500
	progressEvery    = 5000
	importAuditEvent = "organisations.import"
)

var requiredColumns = []string{colURN, colLACode, colName, colType, colStatus}

var optionalColumns = []string{colLAName, colEstabNumber, colTypeGroup, colPhase, colStreet, colLocality,
	colAddress3, colTown, colCounty, colPostcode, colDistrict}

// pendingRow is a valid row waiting for its batch to be written.
type pendingRow struct {
	org    *Organisation
	closed bool
}

// ImportSchools loads the DfE GIAS all-establishments CSV from r, creating
// and updating organisations (Kind "school") and their derived tiers. size is
// the length of r in bytes, used only for the percentage in progress lines;
// pass 0 or less if it is unknown.
//
// The file is read as Windows-1252, as GIAS publishes it, unless it starts
// with a UTF-8 byte-order mark. Columns are found by their GIAS names; others
// are ignored. A row that cannot be used (wrong number of fields, bad URN or
// LA code, no name, a URN already seen in the file) is reported in Rejected
// and nothing of it is written; the other rows are still imported. A row with
// status "Closed" marks a known organisation closed and is otherwise skipped.
// Rows are written in transactions of a few hundred, so an import stopped
// part-way leaves whole rows, and importing the same file again changes
// nothing. One audit entry records the import.
//
// It returns EINVALID, having written nothing, for a malformed EffectiveFrom,
// an empty file or a header that lacks a required column (URN, LA (code),
// EstablishmentName, TypeOfEstablishment (name), EstablishmentStatus (name)).
// Any other error (reading r, the database) stops the import: the batches
// already written stay written and the report so far is returned with it.
func (s *Service) ImportSchools(ctx context.Context, r io.Reader, size int64, opts ImportOptions) (*ImportReport, error) {
	effective := strings.TrimSpace(opts.EffectiveFrom)
	if effective != "" {
		if _, err := time.Parse(store.DateFormat, effective); err != nil {
			return nil, traded.FieldErrorf("effective", "%q is not a date: give the effective date as YYYY-MM-DD.", opts.EffectiveFrom)
		}
	}

	counted := &countingReader{r: r}
	cr, err := newGIASReader(counted)
	if err != nil {
		return nil, fmt.Errorf("import schools: %w", err)
	}
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, traded.Errorf(traded.EINVALID, "The file is empty: expected the GIAS all-establishments CSV.")
	} else if err != nil {
		return nil, fmt.Errorf("import schools: read header: %w", err)
	}
	nfields := len(header) // header is overwritten by the next Read (ReuseRecord)
	cols := make(map[string]int, len(header))
	for i, name := range header {
		name = strings.TrimSpace(name)
		if _, dup := cols[name]; !dup {
			cols[name] = i
		}
	}
	var missing []string
	for _, name := range requiredColumns {
		if _, ok := cols[name]; !ok {
			missing = append(missing, strconv.Quote(name))
		}
	}
	if len(missing) > 0 {
		return nil, traded.Errorf(traded.EINVALID,
			"This is not a GIAS all-establishments CSV: these columns are missing from its header: %s. Nothing was imported.",
			strings.Join(missing, ", "))
	}
	// Optional columns absent from the file read as "".
	for _, name := range optionalColumns {
		if _, ok := cols[name]; !ok {
			cols[name] = -1
		}
	}

	report := &ImportReport{}
	var batch []pendingRow
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		var created, updated, unchanged, closed, skipped int
		err := s.db.Write(ctx, func(tx *store.Tx) error {
			created, updated, unchanged, closed, skipped = 0, 0, 0, 0, 0
			if effective == "" {
				effective = Today(tx.Now)
			}
			for _, p := range batch {
				wasClosed := false
				if p.closed {
					old, err := findOrganisation(ctx, tx, `urn = ?`, p.org.URN)
					if traded.ErrorCode(err) == traded.ENOTFOUND {
						skipped++
						continue
					} else if err != nil {
						return err
					}
					wasClosed = old.Closed
				}
				res, err := upsertOrganisation(ctx, tx, p.org, effective, "gias")
				if err != nil {
					return err
				}
				switch {
				case res == Created:
					created++
				case res == Unchanged:
					unchanged++
				case p.closed && !wasClosed:
					closed++
				default:
					updated++
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		// Counted only once committed, so the report never claims rows
		// that a failed batch rolled back.
		report.Created += created
		report.Updated += updated
		report.Unchanged += unchanged
		report.Closed += closed
		report.Skipped += skipped
		batch = batch[:0]
		return nil
	}
	fail := func(err error) (*ImportReport, error) {
		err = fmt.Errorf("import schools: stopped after %d rows: %w", report.Rows, err)
		if report.Created+report.Updated+report.Closed > 0 {
			if aerr := s.auditImport(ctx, opts.Actor, "stopped part-way: "+report.summary()); aerr != nil {
				err = errors.Join(err, aerr)
			}
		}
		return report, err
	}

	seen := make(map[int64]int) // URN -> line of the row that used it
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var perr *csv.ParseError
		if errors.As(err, &perr) {
			// With LazyQuotes this is rare; the reader carries on at the
			// next line, so the rest of the file is still imported.
			report.Rows++
			report.reject(perr.StartLine, "", "cannot read the row: %v", perr.Err)
			continue
		} else if err != nil {
			return fail(err)
		}
		report.Rows++
		line, _ := cr.FieldPos(0)
		if p, ok := parseGIASRow(report, seen, cols, nfields, rec, line); ok {
			batch = append(batch, p)
		}
		if len(batch) >= importBatchSize {
			if err := flush(); err != nil {
				return fail(err)
			}
		}
		if opts.Progress != nil && report.Rows%progressEvery == 0 {
			if err := flush(); err != nil {
				return fail(err)
			}
			if size > 0 {
				pct := min(counted.n*100/size, 100)
				fmt.Fprintf(opts.Progress, "imported %s rows (%d%%)\n", thousands(report.Rows), pct)
			} else {
				fmt.Fprintf(opts.Progress, "imported %s rows\n", thousands(report.Rows))
			}
		}
	}
	if err := flush(); err != nil {
		return fail(err)
	}
	if err := s.auditImport(ctx, opts.Actor, report.summary()); err != nil {
		return report, fmt.Errorf("import schools: %w", err)
	}
	return report, nil
}

// parseGIASRow checks one record and turns it into an organisation, or
// records in report why it cannot be used.
func parseGIASRow(report *ImportReport, seen map[int64]int, cols map[string]int, nfields int, rec []string, line int) (pendingRow, bool) {
	field := func(name string) string {
		if i := cols[name]; i >= 0 && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	urnText := field(colURN)
	if len(rec) != nfields {
		report.reject(line, urnText, "has %d fields, the header has %d", len(rec), nfields)
		return pendingRow{}, false
	}
	urn, err := ParseURN(urnText)
	if err != nil {
		report.reject(line, urnText, "the URN is not a positive whole number")
		return pendingRow{}, false
	}
	la, err := strconv.Atoi(field(colLACode))
	if err != nil {
		report.reject(line, urnText, "LA (code) %q is not a whole number", field(colLACode))
		return pendingRow{}, false
	}
	name := field(colName)
	if name == "" {
		report.reject(line, urnText, "EstablishmentName is empty")
		return pendingRow{}, false
	}
	if first, dup := seen[urn]; dup {
		report.reject(line, urnText, "duplicate URN: already on line %d", first)
		return pendingRow{}, false
	}
	seen[urn] = line

	status := field(colStatus)
	closed := strings.EqualFold(status, statusClosed)
	if closed {
		status = statusClosed
	}
	typ := field(colType)
	return pendingRow{closed: closed, org: &Organisation{
		URN:                 urn,
		Kind:                "school",
		Name:                name,
		LACode:              la,
		LAName:              field(colLAName),
		EstablishmentNumber: field(colEstabNumber),
		EstablishmentType:   typ,
		TypeGroup:           field(colTypeGroup),
		Phase:               field(colPhase),
		Status:              status,
		Closed:              closed,
		Street:              field(colStreet),
		Locality:            field(colLocality),
		Address3:            field(colAddress3),
		Town:                field(colTown),
		County:              field(colCounty),
		Postcode:            field(colPostcode),
		District:            field(colDistrict),
		DerivedTier:         DeriveTier(la, typ),
	}}, true
}

func (s *Service) auditImport(ctx context.Context, actor store.Actor, detail string) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		return tx.Audit(ctx, actor, importAuditEvent, "organisation", "", detail)
	})
}

// newGIASReader returns a CSV reader over r decoded to UTF-8: as
// Windows-1252, which GIAS uses, unless r starts with a UTF-8 byte-order mark.
func newGIASReader(r io.Reader) (*csv.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var text io.Reader = charmap.Windows1252.NewDecoder().Reader(br)
	bom, err := br.Peek(3)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
		_, _ = br.Discard(3)
		text = br
	}
	cr := csv.NewReader(text)
	cr.LazyQuotes = true
	cr.FieldsPerRecord = -1 // checked against the header row by row, to reject only that row
	cr.ReuseRecord = true
	return cr, nil
}

// countingReader counts the bytes read through it, for progress.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// thousands formats n with comma separators: 12345 -> "12,345".
func thousands(n int) string { return britishNumbers.Sprintf("%d", n) }

// britishNumbers formats numbers as people here write them (x/text).
var britishNumbers = message.NewPrinter(language.BritishEnglish)
