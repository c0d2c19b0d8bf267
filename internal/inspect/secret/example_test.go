package secret_test

import (
	"fmt"
	"log"

	"gatehouse/internal/inspect/secret"
)

func Example() {
	d, err := secret.New(secret.Options{Entropy: true})
	if err != nil {
		log.Fatal(err)
	}
	// Fake credentials, put together so that no scanner takes this file for a leak. The
	// bearer token is found by a gitleaks rule for curl; the passphrase only by the entropy
	// check; the commit hash and the UUID are not secrets.
	text := "deploy with AWS_ACCESS_KEY_ID=AKIA" + "QYLPMN5HHHFPZAM2\n" +
		"curl -H 'Authorization: Bearer Zk3Lq9Xv2Mp7" + "Rt4Wn8Yb1Jc6Hd' https://api.example.com/v1/me\n" +
		"tls:\n  passphrase: Qm9Lp2Xv8Rk4/Tn7Wz1" + "+Yb6Jc3Hd5Fg0Ks\n" +
		"commit 9fceb02d0ae598e95dc970b74767f19372d61af8, request 123e4567-e89b-12d3-a456-426614174000\n"
	for _, m := range d.Scan(text) {
		fmt.Printf("%s at %d: %s\n", m.Rule, m.Start, text[m.Start:m.End])
	}
	// Output:
	// aws-access-token at 30: AKIAQYLPMN5HHHFPZAM2
	// curl-auth-header at 82: Zk3Lq9Xv2Mp7Rt4Wn8Yb1Jc6Hd
	// high-entropy-string at 159: Qm9Lp2Xv8Rk4/Tn7Wz1+Yb6Jc3Hd5Fg0Ks
}
