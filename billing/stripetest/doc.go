// Package stripetest runs a real stripe-mock for tests of Traded's Stripe
// adapter and of the pages and webhook that use it.
//
// It owns nothing and imports only the standard library; it is for tests.
package stripetest
