package web

import (
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"traded"
	"traded/catalogue"
	"traded/store"
)

// holidayRoutes are the bank holidays admins keep, like term dates: the
// published GOV.UK list as shipped, with their additions and removals. Free
// cancellation, consultancy cut-offs and payment reminders count working
// days from them.
func (s *Server) holidayRoutes(app *fiber.App) {
	app.Get("/admin/bank-holidays", s.require(admin), s.handleBankHolidays)
	app.Post("/admin/bank-holidays", s.require(admin), s.handleBankHolidayCreate)
	app.Post("/admin/bank-holidays/:date/remove", s.require(admin), s.handleBankHolidayDelete)

	api := app.Group("/api/v1")
	api.Get("/bank-holidays", s.require(admin), s.handleBankHolidaysAPI)
	api.Post("/bank-holidays", s.require(admin), s.handleBankHolidayCreate)
	api.Delete("/bank-holidays/:date", s.require(admin), s.handleBankHolidayDelete)
}

// holidayYear reads ?year= (a calendar year; default this year in London).
// It returns EINVALID naming "year" for anything else.
func (s *Server) holidayYear(text string) (int, error) {
	if text == "" {
		return s.now().In(traded.London).Year(), nil
	}
	y, err := strconv.Atoi(text)
	if err != nil || y < 2000 || y > 2100 {
		return 0, traded.FieldErrorf("year", "Choose a year from 2000 to 2100, such as 2027.")
	}
	return y, nil
}

type bankHolidaysPage struct {
	*Page
	Year     int
	Years    []int
	Covered  bool
	Holidays []holidayRow
	Removed  []holidayRow
}

type holidayRow struct {
	Date, Day, Name, Source, Removed string
}

func holidayRowOf(b catalogue.BankHoliday) holidayRow {
	r := holidayRow{Date: b.Date.Format(store.DateFormat), Day: b.Date.Format("Monday 2 January 2006"), Name: b.Name}
	switch b.Source {
	case "govuk":
		r.Source = "GOV.UK list"
	case "admin":
		r.Source = "Added by " + b.RecordedBy + " on " + b.RecordedAt.In(traded.London).Format("2 January 2006")
	default:
		r.Source = "Rules (beyond the GOV.UK list)"
	}
	if b.Removed() {
		r.Removed = "Removed by " + b.RemovedBy + " on " + b.RemovedAt.In(traded.London).Format("2 January 2006")
	}
	return r
}

func (s *Server) bankHolidaysPage(c *fiber.Ctx, year int) (*bankHolidaysPage, error) {
	y, err := s.catalogue.FindBankHolidays(c.UserContext(), year)
	if err != nil {
		return nil, err
	}
	p := &bankHolidaysPage{Page: s.page(c, "Bank holidays "+strconv.Itoa(year)), Year: year, Covered: y.Covered}
	this := s.now().In(traded.London).Year()
	for yy := this - 2; yy <= this+4; yy++ {
		p.Years = append(p.Years, yy)
	}
	if year < this-2 || year > this+4 {
		p.Years = append([]int{year}, p.Years...)
	}
	for _, b := range y.Holidays {
		p.Holidays = append(p.Holidays, holidayRowOf(b))
	}
	for _, b := range y.Removed {
		p.Removed = append(p.Removed, holidayRowOf(b))
	}
	return p, nil
}

// handleBankHolidays lists a year's bank holidays in England and Wales for
// an admin to add to or remove from.
func (s *Server) handleBankHolidays(c *fiber.Ctx) error {
	year, err := s.holidayYear(c.Query("year"))
	if err != nil {
		return err
	}
	p, err := s.bankHolidaysPage(c, year)
	if err != nil {
		return err
	}
	return s.render(c, "bank-holidays", p)
}

type bankHolidayJSON struct {
	Date       string `json:"date"`
	Name       string `json:"name"`
	Source     string `json:"source"`
	RecordedAt string `json:"recorded_at,omitempty"`
	RecordedBy string `json:"recorded_by,omitempty"`
	RemovedAt  string `json:"removed_at,omitempty"`
	RemovedBy  string `json:"removed_by,omitempty"`
}

func bankHolidayJSONOf(b catalogue.BankHoliday) bankHolidayJSON {
	j := bankHolidayJSON{Date: b.Date.Format(store.DateFormat), Name: b.Name, Source: b.Source, RecordedBy: b.RecordedBy, RemovedBy: b.RemovedBy}
	if !b.RecordedAt.IsZero() {
		j.RecordedAt = store.FormatTime(b.RecordedAt)
	}
	if b.Removed() {
		j.RemovedAt = store.FormatTime(b.RemovedAt)
	}
	return j
}

// handleBankHolidaysAPI answers a year's bank holidays (?year=).
func (s *Server) handleBankHolidaysAPI(c *fiber.Ctx) error {
	year, err := s.holidayYear(c.Query("year"))
	if err != nil {
		return err
	}
	y, err := s.catalogue.FindBankHolidays(c.UserContext(), year)
	if err != nil {
		return err
	}
	out := struct {
		Year         int               `json:"year"`
		Covered      bool              `json:"covered_by_list"`
		BankHolidays []bankHolidayJSON `json:"bank_holidays"`
		Removed      []bankHolidayJSON `json:"removed"`
	}{Year: year, Covered: y.Covered, BankHolidays: []bankHolidayJSON{}, Removed: []bankHolidayJSON{}}
	for _, b := range y.Holidays {
		out.BankHolidays = append(out.BankHolidays, bankHolidayJSONOf(b))
	}
	for _, b := range y.Removed {
		out.Removed = append(out.Removed, bankHolidayJSONOf(b))
	}
	return c.JSON(out)
}

// decodeBankHoliday reads a bank holiday to add: the API's JSON {"date",
// "name"}, or the bank holidays page's form. The date and name are the
// domain's to check (catalogue.AddBankHoliday).
func decodeBankHoliday(c *fiber.Ctx) (catalogue.BankHolidayInput, error) {
	if !isAPI(c) {
		return catalogue.BankHolidayInput{Date: c.FormValue("date"), Name: c.FormValue("name")}, nil
	}
	var j struct {
		Date string `json:"date"`
		Name string `json:"name"`
	}
	err := decodeJSON(c, &j)
	return catalogue.BankHolidayInput{Date: j.Date, Name: j.Name}, err
}

// addBankHoliday adds the bank holiday the request asks
// (decodeBankHoliday), as the caller.
func (s *Server) addBankHoliday(c *fiber.Ctx) (catalogue.BankHolidayInput, *catalogue.BankHoliday, error) {
	in, err := decodeBankHoliday(c)
	if err != nil {
		return in, nil, err
	}
	b, err := s.catalogue.AddBankHoliday(c.UserContext(), currentUser(c).Actor(c.IP()), in)
	return in, b, err
}

// handleBankHolidayCreate adds a bank holiday, the same way from the API
// and the bank holidays page. POST /api/v1/bank-holidays answers 201 with
// the day, 422 naming the field, or 409 if the date already is a bank
// holiday; POST /admin/bank-holidays shows the day's year with a flash, or
// shows the page again (the year of the date typed, else of the form) with
// the error beside the input at fault.
func (s *Server) handleBankHolidayCreate(c *fiber.Ctx) error {
	in, b, err := s.addBankHoliday(c)
	if isAPI(c) {
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(bankHolidayJSONOf(*b))
	}
	if err != nil {
		year, _ := s.holidayYear(c.FormValue("year"))
		if d, derr := time.Parse(store.DateFormat, in.Date); derr == nil {
			year = d.Year()
		}
		p, perr := s.bankHolidaysPage(c, year)
		if perr != nil {
			return perr
		}
		return s.renderForm(c, "bank-holidays", p.Page, p, err, "date", "name")
	}
	s.setFlash(c, b.Date.Format("Monday 2 January 2006")+" is now a bank holiday: deadlines counted in working days skip it.")
	return c.Redirect("/admin/bank-holidays?year="+strconv.Itoa(b.Date.Year()), fiber.StatusSeeOther)
}

// handleBankHolidayDelete makes the date in the address a working day
// again, the same way from the API and the bank holidays page. DELETE
// /api/v1/bank-holidays/{date} answers 204, or 404 if it is not a bank
// holiday; POST /admin/bank-holidays/{date}/remove shows its year with a
// flash.
func (s *Server) handleBankHolidayDelete(c *fiber.Ctx) error {
	date := c.Params("date")
	err := s.catalogue.RemoveBankHoliday(c.UserContext(), currentUser(c).Actor(c.IP()), date)
	if err != nil {
		return err
	}
	if isAPI(c) {
		return c.SendStatus(fiber.StatusNoContent)
	}
	d, _ := time.Parse(store.DateFormat, strings.TrimSpace(date))
	s.setFlash(c, d.Format("Monday 2 January 2006")+" is no longer a bank holiday: it counts as a working day.")
	return c.Redirect("/admin/bank-holidays?year="+strconv.Itoa(d.Year()), fiber.StatusSeeOther)
}
