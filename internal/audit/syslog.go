package audit

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// Syslog returns a Send that writes each record as one RFC 5424 message (facility
// local0, severity notice for denials and failures, info otherwise; the record's JSON line
// as the message) to a syslog receiver over TCP, framed by octet counting (RFC 6587). A
// batch counts as delivered when every message was written to the connection: syslog has
// no acknowledgements, so a receiver that dies after reading loses what it read.
func Syslog(address, appName string) func(context.Context, []Stored) error {
	host, _ := os.Hostname()
	if host == "" {
		host = "-"
	}
	var mu sync.Mutex
	var conn net.Conn
	return func(ctx context.Context, recs []Stored) error {
		mu.Lock()
		defer mu.Unlock()
		if conn == nil {
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp", address)
			if err != nil {
				return err
			}
			conn = c
		}
		var b strings.Builder
		for _, r := range recs {
			sev := 6 // info
			body := string(r.Body)
			if strings.Contains(body, `"decision":"deny"`) || strings.Contains(body, `"decision":"require_approval"`) ||
				strings.Contains(body, `"outcome":"upstream_error"`) {
				sev = 5 // notice
			}
			line, _ := jsonLine(r)
			msg := fmt.Sprintf("<%d>1 %s %s %s - audit [gatehouse@32473 chain=\"%s\" seq=\"%d\"] %s",
				16*8+sev, time.Now().UTC().Format(time.RFC3339Nano), host, appName, r.Chain, r.Seq, line)
			fmt.Fprintf(&b, "%d %s", len(msg), msg)
		}
		conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
		if _, err := conn.Write([]byte(b.String())); err != nil {
			conn.Close()
			conn = nil
			return err
		}
		return nil
	}
}
