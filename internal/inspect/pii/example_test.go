package pii_test

import (
	"fmt"

	"gatehouse/internal/inspect/pii"
)

// A detector for e-mail addresses and phone numbers over a tool result; the date, the
// version and the order number are not personal data.
func ExampleDetector_Scan() {
	d := pii.New(pii.Email, pii.Phone)
	text := `{"from":"ann.lee@example.com","body":"Call me at (555) 123-4567 about order 5551234567, v2.4.1, due 2024-05-13."}`
	for _, m := range d.Scan(text) {
		fmt.Printf("%s %q at %d\n", m.Type, text[m.Start:m.End], m.Start)
	}
	// Output:
	// email "ann.lee@example.com" at 9
	// phone "(555) 123-4567" at 49
}
