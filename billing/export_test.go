package billing

import (
	"context"

	"traded/store"
)

// PayerMatches is payerMatches, for the tests of package billing_test.
var PayerMatches = payerMatches

// IssueNewTx is issueNew and CreateCreditNoteTx createCreditNote, for the
// migration test's billing as the release before migration 0021 did it.
func (s *Service) IssueNewTx(ctx context.Context, tx *store.Tx, actor store.Actor, in InvoiceInput) (int64, string, error) {
	return s.issueNew(ctx, tx, actor, in)
}

func (s *Service) CreateCreditNoteTx(ctx context.Context, tx *store.Tx, actor store.Actor, number string, in CreditInput) (*CreditNote, error) {
	return s.createCreditNote(ctx, tx, actor, number, in)
}
