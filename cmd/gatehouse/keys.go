package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"gatehouse/internal/app"
	"gatehouse/internal/identity"
)

// keysCmd runs `gatehouse keys create|list|revoke`: API keys for service identities, kept
// in the configuration's data directory as hashes only.
func keysCmd(args []string, stdout, stderr io.Writer) int {
	const use = "usage: gatehouse keys create --config FILE --subject S [--name N] [--tenant T] [--roles a,b] [--scopes x,y] [--expires 720h]\n" +
		"       gatehouse keys list   --config FILE\n" +
		"       gatehouse keys revoke --config FILE ID"
	sub, fs, path, ok := subcommand("keys", use, args, "configuration file (its data_dir holds the keys)", stderr)
	if !ok {
		return 2
	}
	subject := fs.String("subject", "", "the identity's subject (create)")
	name := fs.String("name", "", "a label, reported as the client id (create)")
	tenant := fs.String("tenant", "", "tenant (create)")
	roles := fs.String("roles", "", "comma-separated roles (create)")
	scopes := fs.String("scopes", "", "comma-separated scopes (create)")
	expires := fs.Duration("expires", 0, "lifetime, e.g. 720h; 0 means no expiry (create)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	cfg, code := configAt(*path, use, stderr)
	if cfg == nil {
		return code
	}
	store := app.KeyStore(cfg)
	switch sub {
	case "create":
		if *subject == "" {
			fmt.Fprintln(stderr, "gatehouse keys create: --subject is required")
			return 2
		}
		k := identity.APIKey{Name: *name, Subject: *subject, Tenant: *tenant, Roles: split(*roles), Scopes: split(*scopes)}
		if *expires > 0 {
			t := time.Now().Add(*expires).UTC()
			k.Expires = &t
		}
		secret, made, err := store.Create(k)
		if err != nil {
			fmt.Fprintln(stderr, "gatehouse keys create:", err)
			return 1
		}
		if err := adminRecord(*path, "api_key_created", map[string]any{"id": made.ID, "subject": made.Subject, "tenant": made.Tenant, "roles": made.Roles, "scopes": made.Scopes, "expires": made.Expires}, stderr); err != nil {
			fmt.Fprintln(stderr, "gatehouse keys create: the key was created, but its audit record could not be written:", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s\n", secret)
		fmt.Fprintf(stderr, "created key %s for %q; the key above is shown only once (only its hash is stored)\n", made.ID, made.Subject)
		return 0
	case "list":
		keys, err := store.List()
		if err != nil {
			fmt.Fprintln(stderr, "gatehouse keys list:", err)
			return 1
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tSUBJECT\tTENANT\tROLES\tSCOPES\tCREATED\tEXPIRES\tSTATUS")
		now := time.Now()
		for _, k := range keys {
			status := "active"
			switch {
			case k.RevokedAt != nil:
				status = "revoked " + k.RevokedAt.Format(time.RFC3339)
			case !k.Active(now):
				status = "expired"
			}
			exp := "never"
			if k.Expires != nil {
				exp = k.Expires.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.Subject, k.Tenant,
				strings.Join(k.Roles, ","), strings.Join(k.Scopes, ","), k.Created.Format(time.RFC3339), exp, status)
		}
		tw.Flush()
		return 0
	case "revoke":
		if fs.NArg() != 1 {
			fmt.Fprintln(stderr, use)
			return 2
		}
		k, err := store.Revoke(fs.Arg(0))
		if err != nil {
			fmt.Fprintln(stderr, "gatehouse keys revoke:", err)
			return 1
		}
		if err := adminRecord(*path, "api_key_revoked", map[string]any{"id": k.ID, "subject": k.Subject}, stderr); err != nil {
			fmt.Fprintln(stderr, "gatehouse keys revoke: the key was revoked, but its audit record could not be written:", err)
			return 1
		}
		fmt.Fprintf(stdout, "revoked key %s (%s)\n", k.ID, k.Subject)
		return 0
	}
	fmt.Fprintln(stderr, use)
	return 2
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
