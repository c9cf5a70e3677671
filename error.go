package traded

import (
	"errors"
	"fmt"
)

// Error codes. The web layer maps each to one HTTP status in one place.
const (
	EINVALID      = "invalid"      // the request is well formed but breaks a rule: 422
	EMALFORMED    = "malformed"    // the request cannot be parsed: 400
	ENOTFOUND     = "not_found"    // 404
	ECONFLICT     = "conflict"     // session full, already paid, already subscribed: 409
	EUNAUTHORIZED = "unauthorized" // no valid credentials: 401
	EFORBIDDEN    = "forbidden"    // signed in but not allowed: 403
	ETOOMANY      = "too_many"     // rate limited: 429
	EINTERNAL     = "internal"     // a fault of ours: 500, and the only code that is logged
)

// Error is an error whose Message is safe to show to a user. Internal faults
// are not Errors: ErrorCode reports them as EINTERNAL and their text never
// reaches a page.
type Error struct {
	Code    string
	Message string
	// Field names the input at fault, when there is one, so a form can put
	// the message beside it.
	Field string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("traded error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns an EINVALID *Error about one named input.
func FieldErrorf(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-safe message of the first *Error in err's
// chain, or a generic message for any other error.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Sorry, something went wrong on our side. Please try again later."
}

// ErrorField returns the input named by the first *Error in err's chain, if any.
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}
