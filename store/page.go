package store

// Cursor is a place in a list read a page at a time by its sort order
// (keyset paging): the sort key and id of the last row a page held. The
// next page is the rows after that one in the list's order, found by the
// index rather than by counting past an offset, so a row added or removed
// meanwhile neither repeats a row on the next page nor pushes one off it.
//
// Key is the list's own sort value as stored (a UTC instant, a number
// written in decimal, or "" where the list sorts by id alone); the list's
// Find method says which. A Cursor comes back from the caller, so a Find
// method treats it as a value to compare, never as SQL.
type Cursor struct {
	Key string
	ID  int64
}

// LimitSQL is the LIMIT clause for a page of limit rows after offset rows,
// and its arguments: "" for limit 0, which means every row.
func LimitSQL(limit, offset int) (string, []any) {
	if limit <= 0 {
		if offset > 0 {
			return ` LIMIT -1 OFFSET ?`, []any{offset}
		}
		return "", nil
	}
	return ` LIMIT ? OFFSET ?`, []any{limit, max(offset, 0)}
}
