// Package pgtest starts a real PostgreSQL server for tests: a throwaway cluster in a
// temporary directory, listening on 127.0.0.1 only, stopped when the test ends. It needs the
// server binaries (Debian: apt-get install postgresql, which scripts/test.sh does); without
// them the test is skipped, unless GATEHOUSE_REQUIRE_POSTGRES is set (as the test command
// sets it), when it fails.
package pgtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
)

func find(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
	if len(m) > 0 {
		return m[len(m)-1]
	}
	return ""
}

// Start runs a server and returns its DSN (user gatehouse, trust authentication).
func Start(t testing.TB) string {
	t.Helper()
	initdb, pgctl := find("initdb"), find("pg_ctl")
	if initdb == "" || pgctl == "" {
		if os.Getenv("GATEHOUSE_REQUIRE_POSTGRES") != "" {
			t.Fatal("pgtest: PostgreSQL server binaries not found (apt-get install postgresql)")
		}
		t.Skip("pgtest: PostgreSQL not installed; scripts/test.sh installs it (apt-get install postgresql)")
	}
	dir, err := os.MkdirTemp("", "gatehouse-pg-")
	if err != nil {
		t.Fatal(err)
	}
	// PostgreSQL refuses to run as root: as root, run it as the postgres user.
	var prefix []string
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("pgtest: running as root and there is no postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		prefix = []string{"runuser", "-u", "postgres", "--"}
	}
	run := func(args ...string) {
		t.Helper()
		all := append(append([]string{}, prefix...), args...)
		out, err := exec.Command(all[0], all[1:]...).CombinedOutput()
		if err != nil {
			t.Fatalf("pgtest: %v: %v\n%s", args, err, out)
		}
	}
	data := filepath.Join(dir, "data")
	run(initdb, "-D", data, "-U", "gatehouse", "-A", "trust", "-E", "UTF8", "--no-sync")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	run(pgctl, "-D", data, "-l", filepath.Join(dir, "server.log"), "-w", "-t", "60",
		"-o", fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s", port, dir), "start")
	t.Cleanup(func() {
		all := append(append([]string{}, prefix...), pgctl, "-D", data, "-m", "immediate", "-w", "stop")
		exec.Command(all[0], all[1:]...).Run()
		os.RemoveAll(dir)
	})
	return fmt.Sprintf("postgres://gatehouse@127.0.0.1:%d/postgres?sslmode=disable", port)
}
