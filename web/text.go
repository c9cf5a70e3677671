package web

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"traded"
)

// Every value a form or a JSON body carries is checked where it arrives:
// valid UTF-8 and no control characters but line breaks and tabs (which
// the fields that take one line refuse in turn, in the domain packages).
// A value that fails is a 422 naming the field, before any handler sees it.

// maxValue bounds any one value of a form or JSON body, in characters.
const maxValue = 100_000

// checkFormText refuses a form (urlencoded or multipart) whose values break
// the rule. Uploaded files are not values: their parsers check them.
func checkFormText(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch:
	default:
		return c.Next()
	}
	ct := strings.ToLower(c.Get(fiber.HeaderContentType))
	var bad error
	check := func(k, v string) {
		if bad == nil {
			bad = checkValue(k, v)
		}
	}
	switch {
	case strings.HasPrefix(ct, fiber.MIMEApplicationForm):
		c.Request().PostArgs().VisitAll(func(k, v []byte) { check(string(k), string(v)) })
	case strings.HasPrefix(ct, fiber.MIMEMultipartForm):
		if form, err := c.MultipartForm(); err == nil {
			for k, vs := range form.Value {
				for _, v := range vs {
					check(k, v)
				}
			}
		}
	}
	if bad != nil {
		return bad
	}
	return c.Next()
}

func checkValue(field, v string) error {
	_, err := traded.CleanText(field, "text in "+label(field), v, maxValue)
	return err
}

// label names a field for people: "name_1" is "name 1".
func label(field string) string {
	return strings.NewReplacer("_", " ", ".", " ", "[", " ", "]", "").Replace(field)
}

// checkJSONText walks what decodeJSON decoded and checks each string by the
// rule, naming it by its JSON path ("delegates[1].name").
func checkJSONText(v any) error {
	return walkStrings(reflect.ValueOf(v), "")
}

func walkStrings(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return walkStrings(v.Elem(), path)
	case reflect.String:
		return checkValue(path, v.String())
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if f.Anonymous && f.Tag.Get("json") == "" {
				name = path // its fields are the parent's
			} else if path != "" {
				name = path + "." + name
			}
			if err := walkStrings(v.Field(i), name); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil // raw bytes
		}
		for i := range v.Len() {
			if err := walkStrings(v.Index(i), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			key := iter.Key()
			p := path
			if key.Kind() == reflect.String {
				if err := checkValue(path, key.String()); err != nil {
					return err
				}
				p = strings.TrimPrefix(path+"."+key.String(), ".")
			}
			if err := walkStrings(iter.Value(), p); err != nil {
				return err
			}
		}
	}
	return nil
}
