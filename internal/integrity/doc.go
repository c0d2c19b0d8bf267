// Package integrity pins what upstream servers offer. Every tool, prompt and resource-template
// definition (name, description, schemas, annotations) is reduced to a canonical digest and
// compared with its pin: trust on first use (pins recorded in the gateway's data directory the
// first time a server is seen) or a reviewed lock file. A definition that differs from its
// pin, and a new one on a pinned server, is pending: withheld from every list and refused to
// every call until an administrator approves it (which moves the pin) or rejects it.
package integrity
