package billing

import (
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// payerStopWords are words of bank descriptions and school names that say
// nothing about who paid: bank transaction codes, references, and the
// words every school's name shares.
var payerStopWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`BGC BACS FP FPS FPI CR DR TFR TRF TRANSFER PAYMENT PAYMT PYMT PAY PAID INV INVOICE INVOICES REF
		REFERENCE TS FROM TO FOR THE OF AND IN ON AT A AN BY SCHOOL SCHOOLS SCH PRIMARY PRI PRIM PS SECONDARY INFANT INFANTS INF
		JUNIOR JUNIORS JNR JUN ACADEMY ACADEMIES ACAD TRUST MAT CE COFE VA VC RC CATHOLIC CHURCH ENGLAND COMMUNITY COUNTY LTD
		LIMITED ST SAINT SAINTS FEDERATION NURSERY PREP COLLEGE HIGH ESSEX COUNCIL CC ECC LA MR MRS MS DR YSGOL EDUCATION`) {
		payerStopWords[w] = true
	}
}

// foldAccents turns "Llŷn" into "Llyn" and "Żabka" into "Zabka": bank
// descriptions are mostly ASCII, school names are not.
var foldAccents = transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)

// payerWords returns the distinctive words of a name or description:
// upper case, accents folded, letters only (a word with a digit is a
// reference or a date), stop words and single letters dropped.
func payerWords(s string) []string {
	folded, _, err := transform.String(foldAccents, s)
	if err != nil {
		folded = s
	}
	folded = strings.NewReplacer("'", "", "’", "", "‘", "").Replace(folded) // MARY'S is MARYS
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToUpper(folded), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if len([]rune(w)) < 2 || payerStopWords[w] || strings.IndexFunc(w, unicode.IsDigit) >= 0 {
			continue
		}
		out = append(out, w)
	}
	return out
}

// payerMatches reports whether a bank line's description could come from
// the customer: when it names nobody (only references and bank codes), or
// shares a distinctive word with the customer's name (a word of four or
// more letters may be cut short, as banks cut descriptions: "CHELMSF" is
// Chelmsford). A description that names someone else is not the
// customer's payment, whatever invoice number it quotes.
func payerMatches(description, customer string) bool {
	desc := payerWords(description)
	if len(desc) == 0 {
		return true
	}
	name := payerWords(customer)
	for _, d := range desc {
		for _, n := range name {
			if d == n || (len(d) >= 4 && strings.HasPrefix(n, d)) || (len(n) >= 4 && strings.HasPrefix(d, n)) {
				return true
			}
		}
	}
	return false
}
