package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"traded"
)

// decodeJSON reads the request body into v strictly: it must be one JSON
// object of known fields. Broken JSON is EMALFORMED (400); a value of the
// wrong type or an unknown field is EINVALID (422) naming the field.
func decodeJSON(c *fiber.Ctx, v any) error {
	body := c.Body()
	if len(bytes.TrimSpace(body)) == 0 {
		return traded.Errorf(traded.EMALFORMED, "The request body is empty: send a JSON object.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return traded.Errorf(traded.EMALFORMED, "The request body must hold one JSON object and nothing after it.")
	}
	return checkJSONText(v)
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var inv *traded.Error
	switch {
	case errors.As(err, &inv):
		return inv
	case errors.As(err, &syn):
		return traded.Errorf(traded.EMALFORMED, "The request body is not valid JSON (at byte %d).", syn.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return traded.Errorf(traded.EMALFORMED, "The request body is not valid JSON: it ends too soon.")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return traded.Errorf(traded.EMALFORMED, "The request body must be a JSON object.")
		}
		return traded.FieldErrorf(field, "%s must be %s, not %s.", field, jsonKind(typ.Type.Kind().String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return traded.FieldErrorf(name, "%q is not a field this request takes.", name)
	}
	return traded.Errorf(traded.EMALFORMED, "The request body is not valid JSON.")
}

func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"), strings.HasPrefix(k, "float"):
		return "a whole number"
	case k == "bool":
		return "true or false"
	case k == "string":
		return "a string"
	case k == "slice":
		return "a list"
	case k == "struct", k == "map":
		return "an object"
	}
	return "a " + k
}

// urnParam is a URN in a JSON body, given as a string ("123456") or a number.
type urnParam int64

// UnmarshalJSON accepts "123456" or 123456.
func (u *urnParam) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		return nil
	}
	if unq, err := strconv.Unquote(s); err == nil {
		s = unq
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return traded.FieldErrorf("organisation", "organisation must be the school's URN, a whole number such as \"115123\", not %s.", string(b))
	}
	*u = urnParam(n)
	return nil
}

func intParam(c *fiber.Ctx, name string) (int64, error) {
	v, err := strconv.ParseInt(c.Params(name), 10, 64)
	if err != nil || v <= 0 {
		return 0, traded.Errorf(traded.ENOTFOUND, "There is no %s %q.", name, c.Params(name))
	}
	return v, nil
}

func pathID(c *fiber.Ctx, name, what string) (int64, error) {
	id, err := strconv.ParseInt(c.Params(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, traded.Errorf(traded.ENOTFOUND, "There is no %s %q.", what, c.Params(name))
	}
	return id, nil
}

// idempotency returns the request's Idempotency-Key ("" when none) and a
// hash of what it asks (path and body), so that a retry with the same key
// is told from a different request that reuses it.
func idempotency(c *fiber.Ctx) (key, hash string) {
	key = strings.TrimSpace(c.Get("Idempotency-Key"))
	if key == "" {
		return "", ""
	}
	sum := sha256.Sum256(append([]byte(c.Path()+"\n"), c.Body()...))
	return key, hex.EncodeToString(sum[:])
}

// isAPI reports whether the request came to the JSON API, whose answers
// are JSON, rather than to a page.
func isAPI(c *fiber.Ctx) bool { return strings.HasPrefix(c.Path(), "/api/") }

// routeAction is the action a change route names: the :action parameter
// of a page's route, else the last segment of the route (the API has a
// route per action, each with its own guard).
func routeAction(c *fiber.Ctx) string {
	if a := c.Params("action"); a != "" {
		return a
	}
	return path.Base(c.Route().Path)
}
