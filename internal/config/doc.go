// Package config loads, validates and defaults Gatehouse's YAML configuration.
//
// [Load] and [Parse] decode the file through a yaml.Node tree so that every problem they
// find carries the file, line, column and dotted field path (for example upstreams[1].url).
// They report every problem at once as a [Problems] error rather than stopping at the first.
// Defaults are applied after validation, exactly as documented in examples/reference.yaml.
//
// Values that may hold secrets are [Secret]s: a literal string, or a reference
// {env: NAME} or {file: PATH} read only when [Secret.Resolve] is called. A Secret never
// prints its value.
package config
