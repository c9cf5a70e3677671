package billing

// PayerMatches is payerMatches, for the tests of package billing_test.
var PayerMatches = payerMatches
