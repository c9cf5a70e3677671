package pricing

import (
	"fmt"
	"strconv"
	"strings"
)

// Money is an amount in pence. It is never a float: £1,234.50 is Money(123450).
type Money int64

// Pounds returns m for a person: "£1,234.50", "-£12.00", "£0.00".
func (m Money) String() string {
	sign := ""
	p := int64(m)
	if p < 0 {
		sign = "-"
		p = -p
	}
	return fmt.Sprintf("%s£%s.%02d", sign, groupThousands(p/100), p%100)
}

// Decimal returns m as a plain decimal with two places and no symbol or
// grouping ("1234.50"), the form finance systems import.
func (m Money) Decimal() string {
	sign := ""
	p := int64(m)
	if p < 0 {
		sign = "-"
		p = -p
	}
	return fmt.Sprintf("%s%d.%02d", sign, p/100, p%100)
}

func groupThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	lead := len(s) % 3
	if lead > 0 {
		b.WriteString(s[:lead])
	}
	for i := lead; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

// maxPounds bounds parsed amounts so that no arithmetic on them overflows.
const maxPounds = 1_000_000_000

// MaxAmount is the largest amount Traded takes in one figure (£1bn): sums
// of many such amounts still fit in int64, in Go and in SQLite.
const MaxAmount = Money(maxPounds * 100)

// ParseMoney reads an amount in pounds as people and bank statements write
// it: "315", "315.5", "315.50", "£1,234.50", "-12.00". More than two decimal
// places is an error, never a rounding.
func ParseMoney(s string) (Money, error) {
	t := strings.TrimSpace(s)
	neg := false
	if strings.HasPrefix(t, "-") {
		neg, t = true, strings.TrimSpace(t[1:])
	}
	t = strings.TrimPrefix(t, "£")
	t = strings.ReplaceAll(t, ",", "")
	whole, frac, hasFrac := strings.Cut(t, ".")
	if whole == "" && (!hasFrac || frac == "") {
		return 0, fmt.Errorf("%q is not an amount of money", s)
	}
	if whole == "" {
		whole = "0"
	}
	if hasFrac && (len(frac) == 0 || len(frac) > 2) {
		return 0, fmt.Errorf("%q is not an amount in pounds and pence", s)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	if !allDigits(whole) || !allDigits(frac) {
		return 0, fmt.Errorf("%q is not an amount of money", s)
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > maxPounds {
		return 0, fmt.Errorf("%q is too large an amount", s)
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	p := w*100 + f
	if neg {
		p = -p
	}
	return Money(p), nil
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
