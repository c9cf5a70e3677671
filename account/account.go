package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"traded"
	"traded/mail"
	"traded/organisation"
	"traded/store"
)

// Service is the accounts of one database.
type Service struct {
	db *store.DB

	// Organisations are the schools that school users belong to.
	Organisations *organisation.Service
	// BaseURL is the public address links in mail point to.
	BaseURL string
	// PasswordCost is the bcrypt cost (0: 11). Tests lower it.
	PasswordCost int
}

// New returns the accounts of db, whose school users belong to the
// organisations of orgs.
func New(db *store.DB, orgs *organisation.Service) *Service {
	return &Service{db: db, Organisations: orgs}
}

// Role is what a user may do.
type Role string

// The roles. School roles belong to one organisation; LA roles to none.
const (
	RoleSchoolManager Role = "school_manager" // a school business manager
	RoleTeacher       Role = "teacher"
	RoleFinance       Role = "finance" // LA finance
	RoleAdmin         Role = "admin"   // LA admin
	RoleAdviser       Role = "adviser" // an LA school-improvement adviser
)

// Roles lists every role in the order pages show them.
var Roles = []Role{RoleSchoolManager, RoleTeacher, RoleFinance, RoleAdmin, RoleAdviser}

// ParseRole returns the role named s, or EINVALID.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == strings.TrimSpace(s) {
			return r, nil
		}
	}
	return "", traded.FieldErrorf("role", "Choose a role: school_manager, teacher, finance, admin or adviser.")
}

// School reports whether the role belongs to a school (and so to one organisation).
func (r Role) School() bool { return r == RoleSchoolManager || r == RoleTeacher }

// Label is the role as people say it.
func (r Role) Label() string {
	switch r {
	case RoleSchoolManager:
		return "School business manager"
	case RoleTeacher:
		return "Teacher"
	case RoleFinance:
		return "LA finance"
	case RoleAdmin:
		return "LA admin"
	case RoleAdviser:
		return "School-improvement adviser"
	}
	return string(r)
}

// User is a person who signs in to Traded.
type User struct {
	ID               int64
	Email            string
	Name             string
	Role             Role
	OrganisationID   int64 // 0 for LA roles
	OrganisationURN  int64
	OrganisationName string
	Active           bool
	HasPassword      bool
	CreatedAt        time.Time
	LastSignInAt     time.Time // zero if never
}

// Actor returns the user as the audit log records them.
func (u *User) Actor(remoteAddr string) store.Actor {
	return store.Actor{UserID: u.ID, Name: u.Email, RemoteAddr: remoteAddr}
}

// How long emailed links last.
const (
	SignInLinkTTL      = 15 * time.Minute
	ResetLinkTTL       = time.Hour
	SetPasswordLinkTTL = 7 * 24 * time.Hour
)

// Password rules: bcrypt reads at most 72 bytes.
const (
	minPassword = 10
	maxPassword = 72
)

// userColumns and userFrom read a user; nameSchools then adds their
// school's URN and name, which organisation owns.
const userColumns = `u.id, u.email, u.name, u.role, COALESCE(u.organisation_id, 0),
	u.active, u.password_hash <> '', u.created_at, COALESCE(u.last_sign_in_at, '')`

const userFrom = ` FROM users u `

func scanUser(row interface{ Scan(...any) error }) (*User, error) {
	var u User
	var role, created, last string
	if err := row.Scan(&u.ID, &u.Email, &u.Name, &role, &u.OrganisationID,
		&u.Active, &u.HasPassword, &created, &last); err != nil {
		return nil, err
	}
	u.Role = Role(role)
	u.CreatedAt = store.MustTime(created)
	if last != "" {
		u.LastSignInAt = store.MustTime(last)
	}
	return &u, nil
}

// findUser returns the user matching where as tx sees it (nil tx: as
// readers do), or ENOTFOUND.
func (s *Service) findUser(ctx context.Context, tx *store.Tx, where string, args ...any) (*User, error) {
	q := s.queryer(tx)
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+userFrom+` WHERE `+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, traded.Errorf(traded.ENOTFOUND, "There is no such user.")
	} else if err != nil {
		return nil, fmt.Errorf("find user: %w", err)
	}
	if err := s.nameSchools(ctx, tx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// nameSchools sets each school user's OrganisationURN and OrganisationName
// from organisation, as tx sees them (nil tx: as readers do). It asks for
// the names of a whole list at once, and organisation answers from a copy
// it keeps, so the user looked up on every signed-in request costs the one
// query of users.
func (s *Service) nameSchools(ctx context.Context, tx *store.Tx, us ...*User) error {
	if len(us) == 1 && tx == nil {
		u := us[0]
		if u.OrganisationID == 0 {
			return nil
		}
		n, ok, err := s.Organisations.FindNameByID(ctx, u.OrganisationID)
		if err != nil {
			return fmt.Errorf("find user's school: %w", err)
		} else if ok {
			u.OrganisationURN, u.OrganisationName = n.URN, n.Name
		}
		return nil
	}
	var ids []int64
	for _, u := range us {
		if u.OrganisationID != 0 {
			ids = append(ids, u.OrganisationID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	var names map[int64]organisation.Name
	var err error
	if tx != nil {
		names, err = s.Organisations.FindNamesByIDsTx(ctx, tx, ids)
	} else {
		names, err = s.Organisations.FindNamesByIDs(ctx, ids)
	}
	if err != nil {
		return fmt.Errorf("find users' schools: %w", err)
	}
	for _, u := range us {
		if n, ok := names[u.OrganisationID]; ok {
			u.OrganisationURN, u.OrganisationName = n.URN, n.Name
		}
	}
	return nil
}

// FindUserByID returns a user, or ENOTFOUND.
func (s *Service) FindUserByID(ctx context.Context, id int64) (*User, error) {
	return s.findUser(ctx, nil, `u.id = ?`, id)
}

// UserByIDTx returns a user as tx sees it, or ENOTFOUND: for a domain that
// must check, in its own transaction, who it is about to name (the adviser
// a quote assigns).
func (s *Service) UserByIDTx(ctx context.Context, tx *store.Tx, id int64) (*User, error) {
	return s.findUser(ctx, tx, `u.id = ?`, id)
}

// FindUserByEmail returns a user, or ENOTFOUND.
func (s *Service) FindUserByEmail(ctx context.Context, email string) (*User, error) {
	return s.findUser(ctx, nil, `u.email = ?`, strings.TrimSpace(email))
}

// UserFilter selects users. Nil fields do not filter.
type UserFilter struct {
	OrganisationID *int64
	Role           *Role
	Active         *bool
	Limit          int // 0: all
	Offset         int
}

// FindUsers returns the users matching f, by name (then id): at most
// f.Limit of them after skipping f.Offset.
func (s *Service) FindUsers(ctx context.Context, f UserFilter) ([]*User, error) {
	return s.findUsers(ctx, nil, f)
}

// FindUsersTx is FindUsers as tx sees it, for billing naming who gets an
// invoice inside the transaction that issues it.
func (s *Service) FindUsersTx(ctx context.Context, tx *store.Tx, f UserFilter) ([]*User, error) {
	return s.findUsers(ctx, tx, f)
}

func (s *Service) findUsers(ctx context.Context, tx *store.Tx, f UserFilter) ([]*User, error) {
	where, args := []string{"1 = 1"}, []any{}
	if f.OrganisationID != nil {
		where, args = append(where, "u.organisation_id = ?"), append(args, *f.OrganisationID)
	}
	if f.Role != nil {
		where, args = append(where, "u.role = ?"), append(args, string(*f.Role))
	}
	if f.Active != nil {
		where, args = append(where, "u.active = ?"), append(args, *f.Active)
	}
	limit, largs := store.LimitSQL(f.Limit, f.Offset)
	return s.queryUsers(ctx, tx, "find users", strings.Join(where, " AND ")+` ORDER BY u.name COLLATE NOCASE, u.id`+limit, append(args, largs...)...)
}

// queryUsers returns the users a condition (and order) selects, read
// through tx (the readers for a nil tx), each with their school's URN and
// name read the same way.
func (s *Service) queryUsers(ctx context.Context, tx *store.Tx, what, cond string, args ...any) ([]*User, error) {
	rows, err := s.queryer(tx).QueryContext(ctx, `SELECT `+userColumns+userFrom+` WHERE `+cond, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	var out []*User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, u)
	}
	rows.Close() // give back the reader connection before the schools are read
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := s.nameSchools(ctx, tx, out...); err != nil {
		return nil, err
	}
	return out, nil
}

// UserInput is a new user.
type UserInput struct {
	Email    string
	Name     string
	Role     Role
	URN      int64  // the organisation, for school roles
	Password string // "" sends a set-password link instead
}

// CreateUser adds a user. Without a password it emails a link to set one
// (valid 7 days). It returns EINVALID for a bad email, name, role, password
// or organisation, and ECONFLICT when the email is taken.
func (s *Service) CreateUser(ctx context.Context, actor store.Actor, in UserInput) (*User, error) {
	email, err := mail.ValidateAddress("email", in.Email)
	if err != nil {
		return nil, err
	}
	name, err := traded.CleanLine("name", "name", in.Name, traded.MaxName)
	if err != nil {
		return nil, err
	}
	if name == "" {
		return nil, traded.FieldErrorf("name", "Enter the person's full name.")
	}
	if _, err := ParseRole(string(in.Role)); err != nil {
		return nil, err
	}
	if in.Role.School() && in.URN == 0 {
		return nil, traded.FieldErrorf("organisation", "A %s belongs to a school: give its URN.", strings.ToLower(in.Role.Label()))
	}
	if !in.Role.School() && in.URN != 0 {
		return nil, traded.FieldErrorf("organisation", "A %s works for the LA and belongs to no school.", strings.ToLower(in.Role.Label()))
	}
	hash := ""
	if in.Password != "" {
		if hash, err = s.hashPassword(in.Password, email); err != nil {
			return nil, err
		}
	}
	var id int64
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		var orgID any
		if in.URN != 0 {
			org, err := s.Organisations.ByURNTx(ctx, tx, in.URN)
			if err != nil {
				return traded.FieldErrorf("organisation", "There is no organisation with URN %d.", in.URN)
			}
			orgID = org.ID
		}
		now := store.FormatTime(tx.Now)
		res, err := tx.ExecContext(ctx, `INSERT INTO users (email, name, role, organisation_id, password_hash, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, email, name, string(in.Role), orgID, hash, now, now)
		if store.IsUniqueViolation(err) {
			return &traded.Error{Code: traded.ECONFLICT, Field: "email", Message: fmt.Sprintf("There is already an account for %s.", email)}
		} else if err != nil {
			return fmt.Errorf("create user: %w", err)
		}
		id, _ = res.LastInsertId()
		if hash == "" {
			if err := s.sendLink(ctx, tx, id, email, name, "set_password", SetPasswordLinkTTL); err != nil {
				return err
			}
		}
		return tx.Audit(ctx, actor, "user.create", "user", strconv.FormatInt(id, 10),
			fmt.Sprintf("%s <%s> as %s%s", name, email, in.Role, orgSuffix(in.URN)))
	})
	if err != nil {
		return nil, err
	}
	return s.FindUserByID(ctx, id)
}

func orgSuffix(urn int64) string {
	if urn == 0 {
		return ""
	}
	return fmt.Sprintf(" of URN %d", urn)
}

// InviteTeacher adds a teacher to the manager's own school and emails them a
// link to set their password. It returns EFORBIDDEN unless manager is an
// active school manager, and the errors of CreateUser.
func (s *Service) InviteTeacher(ctx context.Context, manager *User, remoteAddr, email, name string) (*User, error) {
	if manager.Role != RoleSchoolManager || !manager.Active {
		return nil, traded.Errorf(traded.EFORBIDDEN, "Only a school business manager can invite staff.")
	}
	return s.CreateUser(ctx, manager.Actor(remoteAddr), UserInput{Email: email, Name: name, Role: RoleTeacher, URN: manager.OrganisationURN})
}

// SetUserActive deactivates or reactivates a user. A school manager may do
// so only for teachers of their own school (anyone else is ENOTFOUND); an
// admin for anyone but themselves. It returns EFORBIDDEN otherwise.
func (s *Service) SetUserActive(ctx context.Context, by *User, remoteAddr string, userID int64, active bool) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		u, err := s.findUser(ctx, tx, `u.id = ?`, userID)
		if err != nil {
			return err
		}
		switch {
		case by.Role == RoleAdmin && u.ID == by.ID:
			return traded.Errorf(traded.EFORBIDDEN, "You cannot deactivate your own account.")
		case by.Role == RoleAdmin:
		case by.Role == RoleSchoolManager && u.OrganisationID == by.OrganisationID:
			if u.Role != RoleTeacher {
				return traded.Errorf(traded.EFORBIDDEN, "You can deactivate only your school's teachers.")
			}
		case by.Role == RoleSchoolManager:
			return traded.Errorf(traded.ENOTFOUND, "There is no such user.")
		default:
			return traded.Errorf(traded.EFORBIDDEN, "You cannot change other people's accounts.")
		}
		if u.Active == active {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET active = ?, updated_at = ? WHERE id = ?`, active, store.FormatTime(tx.Now), u.ID); err != nil {
			return fmt.Errorf("set user active: %w", err)
		}
		if !active {
			if _, err := endSessions(ctx, tx, u.ID, ""); err != nil {
				return err
			}
		}
		action := "user.deactivate"
		if active {
			action = "user.reactivate"
		}
		return tx.Audit(ctx, by.Actor(remoteAddr), action, "user", strconv.FormatInt(u.ID, 10), fmt.Sprintf("%s <%s>", u.Name, u.Email))
	})
}

// ChangeRole gives a user another role (and organisation, for school roles).
// It returns EFORBIDDEN unless admin is an active admin, or when they change
// their own role; EINVALID for a bad role or organisation; ENOTFOUND for an
// unknown user.
func (s *Service) ChangeRole(ctx context.Context, admin *User, remoteAddr string, userID int64, role Role, urn int64) error {
	if admin == nil || admin.Role != RoleAdmin || !admin.Active {
		return traded.Errorf(traded.EFORBIDDEN, "Only an LA admin can change roles.")
	}
	if _, err := ParseRole(string(role)); err != nil {
		return err
	}
	if role.School() != (urn != 0) {
		return traded.FieldErrorf("organisation", "School roles need the school's URN; LA roles have none.")
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		u, err := s.findUser(ctx, tx, `u.id = ?`, userID)
		if err != nil {
			return err
		}
		if u.ID == admin.ID {
			return traded.Errorf(traded.EFORBIDDEN, "Another admin must change your role.")
		}
		var orgID any
		if urn != 0 {
			org, err := s.Organisations.ByURNTx(ctx, tx, urn)
			if err != nil {
				return traded.FieldErrorf("organisation", "There is no organisation with URN %d.", urn)
			}
			orgID = org.ID
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET role = ?, organisation_id = ?, updated_at = ? WHERE id = ?`,
			string(role), orgID, store.FormatTime(tx.Now), u.ID); err != nil {
			return fmt.Errorf("change role: %w", err)
		}
		return tx.Audit(ctx, admin.Actor(remoteAddr), "user.role", "user", strconv.FormatInt(u.ID, 10),
			fmt.Sprintf("%s: %s%s -> %s%s", u.Email, u.Role, orgSuffix(u.OrganisationURN), role, orgSuffix(urn)))
	})
}

func (s *Service) hashPassword(password, email string) (string, error) {
	if utf8.RuneCountInString(password) < minPassword {
		return "", traded.FieldErrorf("password", "Your password must be at least %d characters long.", minPassword)
	}
	if len(password) > maxPassword {
		return "", traded.FieldErrorf("password", "Your password must be at most %d bytes long.", maxPassword)
	}
	if strings.EqualFold(password, email) {
		return "", traded.FieldErrorf("password", "Your password must not be your email address.")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), s.passwordCost())
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

func (s *Service) passwordCost() int {
	if s.PasswordCost != 0 {
		return s.PasswordCost
	}
	return 11
}

// dummyHash is compared against when the email is unknown, so an unknown
// address takes as long to refuse as a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not a real password at all"), 11)

// ErrBadCredentials is the one answer to a failed sign-in, whatever failed.
var ErrBadCredentials = traded.Errorf(traded.EUNAUTHORIZED, "Enter a correct email address and password.")

// Authenticate checks an email and password and records the attempt in the
// audit log either way. It returns EUNAUTHORIZED for any failure, never
// saying which part was wrong.
func (s *Service) Authenticate(ctx context.Context, email, password, remoteAddr string) (*User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	var hash string
	u, err := s.findUser(ctx, nil, `u.email = ?`, email)
	if err == nil {
		err = s.db.Read().QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = ?`, u.ID).Scan(&hash)
	}
	ok := false
	if err == nil && hash != "" && u.Active {
		ok = bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	} else {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
	}
	if err != nil && traded.ErrorCode(err) != traded.ENOTFOUND {
		return nil, err
	}
	if !ok {
		reason := "wrong password"
		switch {
		case u == nil:
			reason = "unknown email"
		case !u.Active:
			reason = "account deactivated"
		case hash == "":
			reason = "no password set"
		}
		s.auditFailedSignIn(ctx, u, email, remoteAddr, reason)
		return nil, ErrBadCredentials
	}
	if err := s.recordSignIn(ctx, u, remoteAddr, "password"); err != nil {
		return nil, err
	}
	return u, nil
}

func (s *Service) auditFailedSignIn(ctx context.Context, u *User, email, remoteAddr, reason string) {
	// The address as typed, which nothing has checked: one line, and no
	// longer than an address can be, in the audit log.
	a := store.Actor{Name: traded.Clip(strings.ToValidUTF8(traded.OneLine(email), "?"), traded.MaxEmail), RemoteAddr: remoteAddr}
	id := ""
	if u != nil {
		a.UserID, id = u.ID, strconv.FormatInt(u.ID, 10)
	}
	_ = s.db.Write(ctx, func(tx *store.Tx) error {
		return tx.Audit(ctx, a, "sign_in.failed", "user", id, reason)
	})
}

func (s *Service) recordSignIn(ctx context.Context, u *User, remoteAddr, how string) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET last_sign_in_at = ? WHERE id = ?`, store.FormatTime(tx.Now), u.ID); err != nil {
			return fmt.Errorf("record sign-in: %w", err)
		}
		return tx.Audit(ctx, u.Actor(remoteAddr), "sign_in", "user", strconv.FormatInt(u.ID, 10), how)
	})
}

// RecordSignOut notes a sign-out in the audit log.
func (s *Service) RecordSignOut(ctx context.Context, u *User, remoteAddr string) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		return tx.Audit(ctx, u.Actor(remoteAddr), "sign_out", "user", strconv.FormatInt(u.ID, 10), "")
	})
}

// ChangePassword sets a signed-in user's password after checking their
// current one. It returns EINVALID for a wrong current or a weak new password.
func (s *Service) ChangePassword(ctx context.Context, u *User, remoteAddr, current, next, keepSession string) error {
	var hash string
	if err := s.db.Read().QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = ?`, u.ID).Scan(&hash); err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	if hash != "" && bcrypt.CompareHashAndPassword([]byte(hash), []byte(current)) != nil {
		return traded.FieldErrorf("current", "Your current password is not right.")
	}
	newHash, err := s.hashPassword(next, u.Email)
	if err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`, newHash, store.FormatTime(tx.Now), u.ID); err != nil {
			return fmt.Errorf("change password: %w", err)
		}
		n, err := endSessions(ctx, tx, u.ID, keepSession)
		if err != nil {
			return err
		}
		return tx.Audit(ctx, u.Actor(remoteAddr), "user.password", "user", strconv.FormatInt(u.ID, 10), fmt.Sprintf("changed; %d other sessions ended", n))
	})
}

// SessionKey is what a web session with the id (its cookie's value) is
// stored under: the hex SHA-256, as for link and API tokens.
func SessionKey(id string) string { return hashToken(id) }

// endSessions ends the user's web sessions, all but the one stored under
// keep (a SessionKey; "" for none), and returns how many. Ending them
// belongs with the change that calls for it, in its transaction, so a
// password change that commits has signed the other browsers out.
func endSessions(ctx context.Context, tx *store.Tx, userID int64, keep string) (int64, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM web_sessions WHERE user_id = ? AND id <> ?`, userID, keep)
	if err != nil {
		return 0, fmt.Errorf("end sessions: %w", err)
	}
	return res.RowsAffected()
}

// newToken returns a random token for a person to hold and the hash we keep.
func newToken() (plain, hash string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("account: no randomness: " + err.Error())
	}
	plain = base64.RawURLEncoding.EncodeToString(b)
	return plain, hashToken(plain)
}

func hashToken(plain string) string {
	sum := sha256.Sum256([]byte(plain))
	return hex.EncodeToString(sum[:])
}

// linkText says what each emailed link is for.
var linkText = map[string]struct{ path, subject, body string }{
	"sign_in":        {"/sign-in/link/", "Your sign-in link for Essex traded services", "Use this link to sign in to Essex County Council's traded services. It works once, within 15 minutes:"},
	"set_password":   {"/set-password/", "Set your password for Essex traded services", "An account has been made for you on Essex County Council's traded services. Use this link within 7 days to set your password:"},
	"reset_password": {"/reset-password/", "Reset your password for Essex traded services", "Someone asked to reset the password of your account on Essex County Council's traded services. If it was you, use this link within an hour:"},
}

// sendLink makes a single-use link and queues the mail that carries it.
func (s *Service) sendLink(ctx context.Context, tx *store.Tx, userID int64, email, name, purpose string, ttl time.Duration) error {
	plain, hash := newToken()
	if _, err := tx.ExecContext(ctx, `INSERT INTO link_tokens (user_id, purpose, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		userID, purpose, hash, store.FormatTime(tx.Now), store.FormatTime(tx.Now.Add(ttl))); err != nil {
		return fmt.Errorf("make link: %w", err)
	}
	lt := linkText[purpose]
	body := fmt.Sprintf("Dear %s,\n\n%s\n\n%s%s%s\n\nIf you did not expect this email, you can ignore it.\n\nEssex County Council\nTraded services for schools\n",
		name, lt.body, s.baseURL(), lt.path, plain)
	_, err := mail.Enqueue(ctx, tx, mail.Message{Kind: purpose + "_link", To: email, ToName: name, Subject: lt.subject, Text: body})
	return err
}

func (s *Service) baseURL() string {
	if s.BaseURL != "" {
		return strings.TrimSuffix(s.BaseURL, "/")
	}
	return "http://localhost:8080"
}

// SendSignInLink emails a single-use sign-in link, valid 15 minutes, to the
// address if it belongs to an active user. It says nothing either way, so
// the form cannot be used to find out who has an account.
func (s *Service) SendSignInLink(ctx context.Context, email, remoteAddr string) error {
	return s.sendLinkByEmail(ctx, email, remoteAddr, "sign_in", SignInLinkTTL)
}

// SendPasswordReset emails a link to reset the password, valid an hour, if
// the address belongs to an active user. It says nothing either way.
func (s *Service) SendPasswordReset(ctx context.Context, email, remoteAddr string) error {
	return s.sendLinkByEmail(ctx, email, remoteAddr, "reset_password", ResetLinkTTL)
}

func (s *Service) sendLinkByEmail(ctx context.Context, email, remoteAddr, purpose string, ttl time.Duration) error {
	addr, err := mail.ValidateAddress("email", email)
	if err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		u, err := s.findUser(ctx, tx, `u.email = ?`, addr)
		if traded.ErrorCode(err) == traded.ENOTFOUND || (err == nil && !u.Active) {
			return tx.Audit(ctx, store.Actor{Name: addr, RemoteAddr: remoteAddr}, purpose+"_link.refused", "user", "", "no active account")
		} else if err != nil {
			return err
		}
		if err := s.sendLink(ctx, tx, u.ID, u.Email, u.Name, purpose, ttl); err != nil {
			return err
		}
		return tx.Audit(ctx, u.Actor(remoteAddr), purpose+"_link.sent", "user", strconv.FormatInt(u.ID, 10), "")
	})
}

// ErrLinkUsed is the answer to a link that is unknown, used or expired.
var ErrLinkUsed = traded.Errorf(traded.EINVALID, "This link has expired or has already been used. Ask for a new one.")

// CheckLink returns the user an unused, unexpired link belongs to, without
// using it up. It returns ErrLinkUsed (EINVALID) otherwise.
func (s *Service) CheckLink(ctx context.Context, token, purpose string) (*User, error) {
	var userID int64
	err := s.db.Read().QueryRowContext(ctx, `SELECT user_id FROM link_tokens WHERE token_hash = ? AND purpose = ?
		AND used_at IS NULL AND expires_at > ?`, hashToken(token), purpose, store.FormatTime(s.db.Now())).Scan(&userID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrLinkUsed
	} else if err != nil {
		return nil, fmt.Errorf("check link: %w", err)
	}
	u, err := s.FindUserByID(ctx, userID)
	if err != nil || !u.Active {
		return nil, ErrLinkUsed
	}
	return u, nil
}

// UseLink spends a link: sign_in links sign the user in; set_password and
// reset_password links set password, which must then be given. It returns
// ErrLinkUsed for an unknown, used or expired link, and EINVALID for a weak
// password; a refused password leaves the link unused.
func (s *Service) UseLink(ctx context.Context, token, purpose, password, remoteAddr string) (*User, error) {
	u, err := s.CheckLink(ctx, token, purpose)
	if err != nil {
		return nil, err
	}
	hash := ""
	if purpose != "sign_in" {
		if hash, err = s.hashPassword(password, u.Email); err != nil {
			return nil, err
		}
	}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		// Spent inside the write lock: of two racing uses, one wins.
		res, err := tx.ExecContext(ctx, `UPDATE link_tokens SET used_at = ? WHERE token_hash = ? AND purpose = ?
			AND used_at IS NULL AND expires_at > ?`, store.FormatTime(tx.Now), hashToken(token), purpose, store.FormatTime(tx.Now))
		if err != nil {
			return fmt.Errorf("use link: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrLinkUsed
		}
		actor := u.Actor(remoteAddr)
		id := strconv.FormatInt(u.ID, 10)
		if hash != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`, hash, store.FormatTime(tx.Now), u.ID); err != nil {
				return fmt.Errorf("use link: %w", err)
			}
			// A reset (or a first password) ends every session the user
			// had: whoever knew the old password is signed out too.
			n, err := endSessions(ctx, tx, u.ID, "")
			if err != nil {
				return err
			}
			if err := tx.Audit(ctx, actor, "user.password", "user", id, fmt.Sprintf("%s; %d sessions ended", purpose, n)); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET last_sign_in_at = ? WHERE id = ?`, store.FormatTime(tx.Now), u.ID); err != nil {
			return fmt.Errorf("use link: %w", err)
		}
		return tx.Audit(ctx, actor, "sign_in", "user", id, purpose+" link")
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// APIToken is a bearer token's record; the token itself is shown once.
type APIToken struct {
	ID         int64
	Label      string
	CreatedAt  time.Time
	LastUsedAt time.Time
	Revoked    bool
}

// CreateAPIToken makes a bearer token for the user with the email and
// returns it: this is the only time it is ever shown. It returns ENOTFOUND
// for an unknown email and EINVALID for a blank label.
func (s *Service) CreateAPIToken(ctx context.Context, actor store.Actor, email, label string) (string, int64, error) {
	label = strings.TrimSpace(label)
	if label == "" {
		return "", 0, traded.FieldErrorf("name", "Give the token a name, such as the system that will use it.")
	}
	plain, hash := newToken()
	plain = "trd_" + plain
	hash = hashToken(plain)
	var id int64
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		u, err := s.findUser(ctx, tx, `u.email = ?`, strings.TrimSpace(email))
		if err != nil {
			return traded.Errorf(traded.ENOTFOUND, "There is no user with email %s.", email)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (user_id, label, token_hash, created_at) VALUES (?, ?, ?, ?)`,
			u.ID, label, hash, store.FormatTime(tx.Now))
		if err != nil {
			return fmt.Errorf("create token: %w", err)
		}
		id, _ = res.LastInsertId()
		return tx.Audit(ctx, actor, "api_token.create", "api_token", strconv.FormatInt(id, 10), fmt.Sprintf("%q for %s", label, u.Email))
	})
	return plain, id, err
}

// RevokeAPIToken stops a token working. It returns ENOTFOUND for an unknown id.
func (s *Service) RevokeAPIToken(ctx context.Context, actor store.Actor, id int64) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, store.FormatTime(tx.Now), id)
		if err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return traded.Errorf(traded.ENOTFOUND, "There is no active token %d.", id)
		}
		return tx.Audit(ctx, actor, "api_token.revoke", "api_token", strconv.FormatInt(id, 10), "")
	})
}

// FindAPITokens lists a user's tokens.
func (s *Service) FindAPITokens(ctx context.Context, userID int64) ([]*APIToken, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT id, label, created_at, COALESCE(last_used_at, ''), revoked_at IS NOT NULL
		FROM api_tokens WHERE user_id = ? ORDER BY id`, userID)
	if err != nil {
		return nil, fmt.Errorf("find tokens: %w", err)
	}
	defer rows.Close()
	var out []*APIToken
	for rows.Next() {
		var t APIToken
		var created, used string
		if err := rows.Scan(&t.ID, &t.Label, &created, &used, &t.Revoked); err != nil {
			return nil, fmt.Errorf("find tokens: %w", err)
		}
		t.CreatedAt = store.MustTime(created)
		if used != "" {
			t.LastUsedAt = store.MustTime(used)
		}
		out = append(out, &t)
	}
	return out, rows.Err()
}

// UserByAPIToken returns the active user a bearer token belongs to. It
// returns EUNAUTHORIZED for an unknown or revoked token or an inactive user.
func (s *Service) UserByAPIToken(ctx context.Context, token string) (*User, error) {
	var userID, tokenID int64
	var used string
	err := s.db.Read().QueryRowContext(ctx, `SELECT id, user_id, COALESCE(last_used_at, '') FROM api_tokens
		WHERE token_hash = ? AND revoked_at IS NULL`, hashToken(token)).Scan(&tokenID, &userID, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, traded.Errorf(traded.EUNAUTHORIZED, "The API token is not valid.")
	} else if err != nil {
		return nil, fmt.Errorf("api token: %w", err)
	}
	u, err := s.FindUserByID(ctx, userID)
	if err != nil || !u.Active {
		return nil, traded.Errorf(traded.EUNAUTHORIZED, "The API token is not valid.")
	}
	// Note use at most hourly, so the API does not write on every request.
	now := s.db.Now()
	if used == "" || now.Sub(store.MustTime(used)) > time.Hour {
		_ = s.db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, store.FormatTime(tx.Now), tokenID)
			return err
		})
	}
	return u, nil
}

// FindUsersByIDs returns the users with the ids, by id: for a list of
// another domain that names a person on each row (who booked, which
// adviser), in one query for the whole list rather than a join of this
// package's table. Unknown ids are left out.
func (s *Service) FindUsersByIDs(ctx context.Context, ids []int64) (map[int64]*User, error) {
	return s.findUsersByIDs(ctx, nil, ids)
}

// FindUsersByIDsOn is FindUsersByIDs read through q: the readers, or the
// caller's transaction.
func (s *Service) FindUsersByIDsOn(ctx context.Context, q store.Queryer, ids []int64) (map[int64]*User, error) {
	tx, _ := q.(*store.Tx)
	return s.findUsersByIDs(ctx, tx, ids)
}

func (s *Service) findUsersByIDs(ctx context.Context, tx *store.Tx, ids []int64) (map[int64]*User, error) {
	out := make(map[int64]*User, len(ids))
	for start := 0; start < len(ids); start += 500 { // within SQLite's bound on parameters
		chunk := ids[start:min(start+500, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		us, err := s.queryUsers(ctx, tx, "find users", `u.id IN (?`+strings.Repeat(", ?", len(chunk)-1)+`)`, args...)
		if err != nil {
			return nil, err
		}
		for _, u := range us {
			out[u.ID] = u
		}
	}
	return out, nil
}

// queryer is tx, or the readers for a nil tx: a Service's ...Tx methods
// read through tx alone.
func (s *Service) queryer(tx *store.Tx) store.Queryer {
	if tx != nil {
		return tx
	}
	return s.db.Read()
}

// SchoolManagersTx returns the active school business managers of the
// organisation as tx sees them, oldest account first: whom notify asks to
// approve a teacher's booking or accept a quote, and invites to a visit, in
// the transaction of the change.
func (s *Service) SchoolManagersTx(ctx context.Context, tx *store.Tx, orgID int64) ([]*User, error) {
	return s.queryUsers(ctx, tx, "school managers", `u.organisation_id = ? AND u.role = ? AND u.active = 1 ORDER BY u.id`,
		orgID, string(RoleSchoolManager))
}
