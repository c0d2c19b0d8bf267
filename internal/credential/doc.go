// Package credential gives each upstream the gateway's own credentials: OAuth 2.0 client
// credentials, or an RFC 8693 token exchange that turns the user's token into a token for
// that upstream alone. A client's token is never forwarded: token exchange sends it only
// to the configured authorization server, as the subject_token.
//
// Every source is a HeaderFunc, the hook upstream transports call for each request; tokens
// are cached until shortly before they expire.
package credential
