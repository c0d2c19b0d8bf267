package integrity_test

import (
	"fmt"

	"gatehouse/internal/integrity"
)

func ExampleCanonical() {
	// Key order, spacing and unpinned members (_meta) do not change the digest.
	a, da, _ := integrity.Canonical([]byte(`{"name":"add","description":"Adds.","_meta":{"v":1}}`))
	_, db, _ := integrity.Canonical([]byte(`{ "description": "Adds.", "name": "add" }`))
	fmt.Println(string(a), da == db)
	// Output: {"description":"Adds.","name":"add"} true
}

func ExampleDiff() {
	fmt.Print(integrity.Diff("a\nb", "a\nc"))
	// Output:
	//   a
	// - b
	// + c
}
