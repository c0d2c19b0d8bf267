package egress_test

import (
	"context"
	"fmt"

	"gatehouse/internal/inspect/egress"
)

// A tool call whose URL hides the metadata service behind userinfo, and whose e-mail goes
// to a domain the allowlist does not name.
func Example() {
	c, err := egress.New(egress.Options{
		Allow:        []string{"*.example.com", "@example.com"},
		BlockPrivate: true,
	})
	if err != nil {
		panic(err)
	}
	args := `{"url": "http://api.example.com@169.254.169.254/latest/meta-data/", "cc": "eve@evil.test", "to": "bob@example.com"}`
	for _, m := range c.Check(context.Background(), args) {
		fmt.Printf("%s %s %s\n", m.Rule, m.Dest, args[m.Start:m.End])
	}
	// Output:
	// metadata-address 169.254.169.254 http://api.example.com@169.254.169.254/latest/meta-data/
	// destination-not-allowed 169.254.169.254 http://api.example.com@169.254.169.254/latest/meta-data/
	// destination-not-allowed evil.test eve@evil.test
}
