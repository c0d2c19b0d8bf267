package identity_test

import (
	"fmt"
	"net/http"

	"gatehouse/internal/identity"
)

// A refused token gets an RFC 6750 challenge naming the RFC 9728 metadata.
func ExampleAuthError_Challenge() {
	e := &identity.AuthError{Status: http.StatusUnauthorized, Code: "invalid_token", Description: "the access token expired"}
	fmt.Println(e.Challenge("https://gw.example.com/.well-known/oauth-protected-resource/mcp"))
	// Output:
	// Bearer resource_metadata="https://gw.example.com/.well-known/oauth-protected-resource/mcp", error="invalid_token", error_description="the access token expired"
}
