// Package policy decides, for every client request that reaches an upstream, whether the
// identity behind it may: default deny, roles granting servers, tools, prompts and
// resources by name pattern, tenants owning servers, and rules with CEL conditions over the
// identity, the target, its arguments and annotations, the time and the session's history.
//
// A Policy is compiled once (CEL programs included) and is immutable, so a reload swaps
// the whole of it atomically.
package policy
