package pii

import (
	"fmt"
	"strings"
	"testing"
)

// corpus returns about size bytes of what the gateway scans: e-mail and calendar prose and
// JSON tool results full of ids, timestamps, versions, prices and hashes, with a few
// personal data items in each block of about 1 KiB.
func corpus(size int) string {
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		switch i % 3 {
		case 0:
			fmt.Fprintf(&b, "Hi team,\n\nFollowing up on yesterday's call about the Q%d rollout: the staging "+
				"cluster is on v1.%d.3 since 2024-05-%02d 10:%02d UTC and the error rate dropped to 0.%d%%. "+
				"Invoice INV-2024-%05d ($2,099.00) is approved; ping Ann Lee <ann.lee%d@example.com> or "+
				"call (555) 123-%04d if anything is unclear. Commit 9fceb02d0ae598e95dc970b74767f19372d61af8 "+
				"fixes the retry loop (see PR #%d).\n\nThanks,\nBob\n\n",
				i%4+1, i%20, i%28+1, i%60, i%10, 10000+i, i, 1000+i%9000, 4000+i)
		case 1:
			fmt.Fprintf(&b, `{"jsonrpc":"2.0","id":%d,"result":{"content":[{"type":"text","text":"Found %d events"}],`+
				`"structuredContent":{"events":[{"id":"123e4567-e89b-12d3-a456-%012d","title":"Design review",`+
				`"start":"2024-06-%02dT09:30:00+02:00","end":"2024-06-%02dT10:30:00+02:00","location":"Room 4.12",`+
				`"organizer":{"name":"Carol","email":"carol@corp.example.org"},"attendees":%d,"etag":"%08x",`+
				`"ip":"10.0.%d.%d","updated":%d}]}}}`+"\n",
				i, i%7, 426614174000+i, i%28+1, i%28+1, i%12, uint32(i)*2654435761, i%256, i%200, 1715596200+i)
		case 2:
			fmt.Fprintf(&b, "Order #%d shipped on 13.05.2024: 3 items, subtotal 1.234,56 EUR, tracking 1Z999AA1%08d. "+
				"Payment by card 4111 1111 1111 1111, refund to DE89 3704 0044 0532 0130 00. Build 10.0.19045.%d "+
				"on host web-%02d.internal (192.168.%d.%d), ISBN 978-3-16-148410-0, latency p99 %d ms.\n",
				5000000+i, i, 3000+i, i%50, i%256, i%100, 100+i%400)
		}
	}
	return b.String()[:size]
}

// BenchmarkScan: all types over realistic mixed text. The target is ≤ 20 µs per KiB
// (≥ 51 MB/s) on one core.
func BenchmarkScan(b *testing.B) {
	d := New()
	for _, size := range []int{1 << 10, 64 << 10} {
		text := corpus(size)
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			for b.Loop() {
				d.Scan(text)
			}
		})
	}
}
