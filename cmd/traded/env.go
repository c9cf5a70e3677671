package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
)

// Every setting is a flag, and most can come from the environment too
// (a flag given on the command line wins). An environment value is handed
// to the flag's own parser, so TRADED_OFFER_HOLD=abc or TRADED_SMTP_PORT=x
// stops start-up with a message naming the variable, never a silent
// default; an empty value means unset. Ranges (0 is a valid number of
// working days, not of hours an offer is held) are checked after parsing.
//
// peterbourgon/ff (v3, served here) was considered: it derives each
// variable's name from its flag's (--payment-terms would read
// TRADED_PAYMENT_TERMS), so two documented names would change, and it
// parses as strictly as this does. The table below keeps the names and is
// all the code there is.

// flagEnv names the environment variable of each flag that has one.
var flagEnv = map[string]string{
	"db":                    "TRADED_DB",
	"addr":                  "TRADED_ADDR",
	"demo":                  "TRADED_DEMO",
	"demo-clock":            "TRADED_DEMO_CLOCK",
	"dev":                   "TRADED_DEV",
	"base-url":              "TRADED_BASE_URL",
	"quiet":                 "TRADED_QUIET",
	"trusted-proxies":       "TRADED_TRUSTED_PROXIES",
	"cancel-working-days":   "TRADED_CANCEL_WORKING_DAYS",
	"offer-hold":            "TRADED_OFFER_HOLD",
	"payment-reminders":     "TRADED_PAYMENT_REMINDERS",
	"smtp-host":             "TRADED_SMTP_HOST",
	"smtp-port":             "TRADED_SMTP_PORT",
	"smtp-from":             "TRADED_SMTP_FROM",
	"smtp-from-name":        "TRADED_SMTP_FROM_NAME",
	"smtp-user":             "TRADED_SMTP_USER",
	"mail-domain":           "TRADED_MAIL_DOMAIN",
	"supplier-name":         "TRADED_SUPPLIER_NAME",
	"supplier-address":      "TRADED_SUPPLIER_ADDRESS",
	"vat-number":            "TRADED_VAT_NUMBER",
	"supplier-email":        "TRADED_SUPPLIER_EMAIL",
	"supplier-phone":        "TRADED_SUPPLIER_PHONE",
	"bank-name":             "TRADED_BANK_NAME",
	"bank-account-name":     "TRADED_BANK_ACCOUNT_NAME",
	"bank-sort-code":        "TRADED_BANK_SORT_CODE",
	"bank-account":          "TRADED_BANK_ACCOUNT",
	"payment-terms":         "TRADED_PAYMENT_TERMS_DAYS",
	"stripe-key":            "TRADED_STRIPE_SECRET_KEY",
	"stripe-api":            "TRADED_STRIPE_API",
	"stripe-webhook-secret": "TRADED_STRIPE_WEBHOOK_SECRET",
}

// envOnly are the variables with no flag: a secret kept off the command
// line, and the log level.
var envOnly = map[string]bool{"TRADED_SMTP_PASSWORD": true, "TRADED_DEBUG": true}

// parseFlags sets fs's flags from the environment, then from args.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := applyEnv(fs); err != nil {
		return err
	}
	return fs.Parse(args)
}

// applyEnv sets each of fs's flags that has a variable set in the
// environment, by the flag's own parser. It returns an error naming the
// first variable whose value the flag refuses.
func applyEnv(fs *flag.FlagSet) error {
	var names []string
	fs.VisitAll(func(f *flag.Flag) {
		if _, ok := flagEnv[f.Name]; ok {
			names = append(names, f.Name)
		}
	})
	for _, name := range names {
		env := flagEnv[name]
		v := os.Getenv(env)
		if v == "" {
			continue
		}
		if b, ok := fs.Lookup(name).Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			v = boolWord(v)
		}
		if err := fs.Set(name, v); err != nil {
			return fmt.Errorf("%s=%q is not a valid --%s: %v", env, os.Getenv(env), name, unwrapFlagErr(err))
		}
	}
	return nil
}

// boolWord lets a boolean variable say yes/no and on/off as well as what
// Go's flag package takes (1, t, true, 0, f, false).
func boolWord(v string) string {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "yes", "on", "y":
		return "true"
	case "no", "off", "n":
		return "false"
	}
	return v
}

// unwrapFlagErr keeps the reason of a flag parser's error ("invalid
// duration", "parse error", "value out of range").
func unwrapFlagErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}

// unknownEnv lists TRADED_ variables that are no setting: most likely a
// misspelling, which would otherwise be ignored without a word.
func unknownEnv() []string {
	known := map[string]bool{}
	for _, e := range flagEnv {
		known[e] = true
	}
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "TRADED_") && !known[k] && !envOnly[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
