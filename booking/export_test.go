package booking

// DurationText is durationText, for the tests of package booking_test.
var DurationText = durationText
