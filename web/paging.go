package web

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"traded"
	"traded/store"
)

// Lists are paged, one way in the API and one way on pages.
//
// An API list takes ?limit= (default apiDefaultLimit, at most apiMaxLimit)
// and ?after=, the opaque cursor of the page before. Its answer is the
// object it always was plus "next": the cursor of the following page, or
// null on the last; a Link header (rel="next") gives the same page's URL,
// with the request's other parameters kept. The cursor is the keyset of the
// last row (store.Cursor), so walking the pages returns each row once, in
// order, while rows are added. A limit that is not a whole number from 1 to
// apiMaxLimit, or an after that is not a cursor of that list, is a 422
// naming the parameter.
//
// A page (HTML) shows perPage rows and takes ?page=N, from 1; under the list
// is GOV.UK pagination with Previous and Next, keeping the other query
// parameters. A page number that is not a whole number from 1 to maxPage is
// a 422 naming it; one past the end shows an empty list and Previous.
//
// Either way the database is asked for one row more than the page, with the
// LIMIT in the SQL, to learn whether another page follows without counting.
const (
	apiDefaultLimit = 100
	apiMaxLimit     = 500
	perPage         = 50
	maxPage         = 100000
)

// listPage is one page of an API list, as ?limit= and ?after= ask for it.
type listPage struct {
	list  string // the list's name, written into its cursors
	Limit int
	After *store.Cursor
}

// cursorJSON is a cursor as it travels: base64url of this JSON.
type cursorJSON struct {
	List string `json:"l"`
	Key  string `json:"k,omitempty"`
	ID   int64  `json:"i"`
}

// apiPage reads ?limit= and ?after= for the named list. It returns EINVALID
// (limit, after) for a value out of range or a cursor not of this list.
func apiPage(c *fiber.Ctx, list string) (listPage, error) {
	p := listPage{list: list, Limit: apiDefaultLimit}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > apiMaxLimit {
			return p, traded.FieldErrorf("limit", "limit must be a whole number from 1 to %d, not %q.", apiMaxLimit, clip(v))
		}
		p.Limit = n
	}
	if v := c.Query("after"); v != "" {
		cur, err := parseCursor(list, v)
		if err != nil {
			return p, err
		}
		p.After = &cur
	}
	return p, nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func parseCursor(list, v string) (store.Cursor, error) {
	bad := traded.FieldErrorf("after", "after must be the \"next\" cursor of an earlier page of %s, unchanged.", list)
	if len(v) > 400 {
		return store.Cursor{}, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return store.Cursor{}, bad
	}
	var j cursorJSON
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil || dec.More() || j.List != list || j.ID <= 0 {
		return store.Cursor{}, bad
	}
	return store.Cursor{Key: j.Key, ID: j.ID}, nil
}

func (p listPage) cursor(c store.Cursor) string {
	b, _ := json.Marshal(cursorJSON{List: p.list, Key: c.Key, ID: c.ID})
	return base64.RawURLEncoding.EncodeToString(b)
}

// Fetch is how many rows to ask the database for: one more than the page,
// to learn whether another follows.
func (p listPage) Fetch() int { return p.Limit + 1 }

// pageItems cuts items, fetched with p.Fetch, to the page. When another
// page follows it sets the Link header and returns that page's cursor, the
// place of the page's last item; on the last page it returns nil, the JSON
// null of "next".
func pageItems[T any](c *fiber.Ctx, p listPage, items []T, cursor func(T) store.Cursor) ([]T, *string) {
	if len(items) <= p.Limit {
		return items, nil
	}
	items = items[:p.Limit]
	next := p.cursor(cursor(items[len(items)-1]))
	c.Set(fiber.HeaderLink, fmt.Sprintf(`<%s>; rel="next"`, withQuery(c, c.Path(), "after", next)))
	return items, &next
}

// withQuery is path with the request's query, one parameter set to v
// (removed when v is ""), the others kept as they came.
func withQuery(c *fiber.Ctx, path, name, v string) string {
	q := url.Values{}
	c.Request().URI().QueryArgs().VisitAll(func(k, val []byte) {
		q.Add(string(k), string(val))
	})
	if v == "" {
		q.Del(name)
	} else {
		q.Set(name, v)
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// Pager is the GOV.UK pagination under a long list on a page.
type Pager struct {
	Label   string // the navigation's accessible name
	Number  int    // this page, from 1
	Current string // this page's address
	Prev    string // the previous page's address, "" on the first
	Next    string // the next page's address, "" on the last
}

// pageNumber reads the page number in the query parameter param: 1 when
// there is none. It returns EINVALID (param) for anything but a whole
// number from 1 to maxPage.
func pageNumber(c *fiber.Ctx, param string) (int, error) {
	v := c.Query(param)
	if v == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxPage {
		return 0, traded.FieldErrorf(param, "%s must be a whole number from 1 to %d, not %q.", param, maxPage, clip(v))
	}
	return n, nil
}

// pageOffset is how many rows come before page n.
func pageOffset(n int) int { return (n - 1) * perPage }

// cutPage cuts items, fetched with perPage+1 as their limit, to a page and
// reports whether another page follows.
func cutPage[T any](items []T) ([]T, bool) {
	if len(items) > perPage {
		return items[:perPage], true
	}
	return items, false
}

// pager builds page n's pagination in query parameter param, its links
// to path: the page's own, also when a form posted elsewhere shows it again.
func pager(c *fiber.Ctx, path, param, label string, n int, more bool) Pager {
	at := func(k int) string {
		if k <= 1 {
			return withQuery(c, path, param, "")
		}
		return withQuery(c, path, param, strconv.Itoa(k))
	}
	p := Pager{Label: label, Number: n, Current: at(n)}
	if n > 1 {
		p.Prev = at(n - 1)
	}
	if more {
		p.Next = at(n + 1)
	}
	return p
}
