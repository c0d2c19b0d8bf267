package pii

import (
	"slices"
	"strings"
	"testing"
)

// found renders matches as "type:text" for comparison with a table's want.
func found(text string, ms []Match) []string {
	var out []string
	for _, m := range ms {
		out = append(out, string(m.Type)+":"+text[m.Start:m.End])
	}
	return out
}

// checkWellFormed fails t unless ms is sorted, non-overlapping and within text.
func checkWellFormed(t testing.TB, text string, ms []Match) {
	t.Helper()
	prevEnd := 0
	for _, m := range ms {
		if m.Start < prevEnd || m.End <= m.Start || m.End > len(text) {
			t.Fatalf("malformed matches in %q: %+v", text, ms)
		}
		prevEnd = m.End
	}
}

type scanCase struct {
	name, text string
	want       []string
}

func runCases(t *testing.T, d *Detector, cases []scanCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ms := d.Scan(c.text)
			checkWellFormed(t, c.text, ms)
			if got := found(c.text, ms); !slices.Equal(got, c.want) {
				t.Errorf("Scan(%q)\n got %q\nwant %q", c.text, got, c.want)
			}
		})
	}
}

func TestEmail(t *testing.T) {
	runCases(t, New(), []scanCase{
		{"plain", "write to ann@example.com today", []string{"email:ann@example.com"}},
		{"dots plus subdomains", "ann.lee+tag@mail.example.co.uk", []string{"email:ann.lee+tag@mail.example.co.uk"}},
		{"apostrophe inside", "o'brien@example.ie", []string{"email:o'brien@example.ie"}},
		{"quoted", "'ann@example.com'", []string{"email:ann@example.com"}},
		{"angle brackets", "Ann Lee <ann@example.com>", []string{"email:ann@example.com"}},
		{"mailto", "mailto:ann@example.com", []string{"email:ann@example.com"}},
		{"trailing dot", "Mail ann@example.com.", []string{"email:ann@example.com"}},
		{"trailing comma and paren", "(ann@example.com), bob@example.org;", []string{"email:ann@example.com", "email:bob@example.org"}},
		{"underscore and hyphen", "user_1@sub-domain.example.org", []string{"email:user_1@sub-domain.example.org"}},
		{"query string", "https://x.example/?email=ann@example.com&x=1", []string{"email:ann@example.com"}},
		{"upper case", "ANN@EXAMPLE.COM", []string{"email:ANN@EXAMPLE.COM"}},
		{"numeric domain label", "li@163.com", []string{"email:li@163.com"}},
		{"json", `{"from":"ann@example.com","to":["bob@example.org"]}`, []string{"email:ann@example.com", "email:bob@example.org"}},
		{"ellipsis before", "see...ann@example.com", []string{"email:ann@example.com"}},
		{"digits local part wins over card", "4111111111111111@example.com", []string{"email:4111111111111111@example.com"}},

		{"no dot in domain", "ann@localhost", nil},
		{"mention", "thanks @ann and @bob", nil},
		{"no tld", "ann@example", nil},
		{"one-letter tld", "ann@example.c", nil},
		{"numeric tld", "ann@10.0.0.1", nil},
		{"retina asset", `<img src="icon@2x.png">`, nil},
		{"go module version", "golang.org/x/text@v0.41.0", nil},
		{"npm package version", "@angular/core@17.0.3", nil},
		{"image digest", "nginx@sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31", nil},
		{"trailing dot in local part", "ann.@example.com", nil},
		{"domain label ends with hyphen", "ann@example-.com", nil},
		{"domain goes on", "ann@example.com_x", nil},
		{"lone at", "a @ b.com", nil},
	})
}

func TestPhone(t *testing.T) {
	runCases(t, New(), []scanCase{
		{"parens", "call (555) 123-4567 now", []string{"phone:(555) 123-4567"}},
		{"parens no space", "(555)123-4567", []string{"phone:(555)123-4567"}},
		{"dashes", "555-123-4567", []string{"phone:555-123-4567"}},
		{"dots", "555.123.4567", []string{"phone:555.123.4567"}},
		{"spaces", "tel 555 123 4567.", []string{"phone:555 123 4567"}},
		{"leading one", "1-800-555-0199", []string{"phone:1-800-555-0199"}},
		{"leading one parens", "1 (555) 123-4567", []string{"phone:1 (555) 123-4567"}},
		{"e164 contiguous", "+15551234567", []string{"phone:+15551234567"}},
		{"plus one spaced", "+1 555 123 4567", []string{"phone:+1 555 123 4567"}},
		{"plus one parens", "+1 (555) 123-4567", []string{"phone:+1 (555) 123-4567"}},
		{"uk", "+44 20 7946 0958", []string{"phone:+44 20 7946 0958"}},
		{"uk trunk zero", "+44 (0)20 7946 0958", []string{"phone:+44 (0)20 7946 0958"}},
		{"france", "+33 6 12 34 56 78", []string{"phone:+33 6 12 34 56 78"}},
		{"germany dashes", "+49-30-1234567", []string{"phone:+49-30-1234567"}},
		{"e164 eight digits", "+3581234567", []string{"phone:+3581234567"}},
		{"json", `{"phone":"+1-555-123-4567","ext":12}`, []string{"phone:+1-555-123-4567"}},
		{"no-break space before", "Tel.\u00a0555-123-4567", []string{"phone:555-123-4567"}},
		{"two in a list", "555-123-4567, 555-987-6543", []string{"phone:555-123-4567", "phone:555-987-6543"}},
		{"number before with other separator", "room 12 555-123-4567", []string{"phone:555-123-4567"}},

		{"iso date", "2024-05-13", nil},
		{"iso timestamp", "2024-05-13T10:30:00+02:00", nil},
		{"timestamp with offset", "2024-05-13 10:30:00.123 +0200", nil},
		{"us date", "05/13/2024", nil},
		{"dotted date", "13.05.2024", nil},
		{"time", "10:30:45", nil},
		{"unix seconds", "1715596200", nil},
		{"unix millis", "1715596200123", nil},
		{"version", "v1.2.3 and 10.0.19045.3803", nil},
		{"ipv4", "192.168.100.200", nil},
		{"ipv4 port", "10.0.0.1:8080", nil},
		{"ipv6", "2001:db8:85a3::8a2e:370:7334", nil},
		{"plain digits", "order 5551234567", nil},
		{"order id", "order #123456789012", nil},
		{"isbn13", "ISBN 978-3-16-148410-0", nil},
		{"isbn10", "ISBN 0-306-40615-2", nil},
		{"isbn13 plain", "9783161484100", nil},
		{"area code starts with 1", "123-456-7890", nil},
		{"area code starts with 0", "(055) 123-4567", nil},
		{"n11 area code", "911-555-1234", nil},
		{"plus one bad area code", "+1 055 123 4567", nil},
		{"plus one too long", "+1 555 123 45678", nil},
		{"short international", "+49 30123", nil},
		{"too long international", "+49 30 1234 5678 9012 34", nil},
		{"arithmetic", "1+2=3 and x+12345678", nil},
		{"seven digits", "555-1234", nil},
		{"mixed separators", "555-123.4567", nil},
		{"longer dashed number", "555-123-4567-8901", nil},
		{"tail of a dashed number", "2024-555-123-4567", nil},
		{"tail of a spaced number", "10 555 123 4567", nil},
		{"spaced number goes on", "555 123 4567 8901", nil},
		{"in a host name", "host-555-123-4567.example.com", nil},
		{"glued to letters", "x555-123-4567", nil},
		{"many one-digit groups", "+1 2 3 4 5 6 7 8", nil},
		{"decimal", "+12345678.90", nil},
	})
}

func TestCard(t *testing.T) {
	runCases(t, New(), []scanCase{
		{"visa contiguous", "4111111111111111", []string{"payment-card:4111111111111111"}},
		{"visa spaces", "card 4111 1111 1111 1111 exp 12/27", []string{"payment-card:4111 1111 1111 1111"}},
		{"visa dashes", "4012-8888-8888-1881", []string{"payment-card:4012-8888-8888-1881"}},
		{"visa 13", "4222222222222", []string{"payment-card:4222222222222"}},
		{"mastercard", "5555 5555 5555 4444", []string{"payment-card:5555 5555 5555 4444"}},
		{"mastercard 2-series", "2223003122003222", []string{"payment-card:2223003122003222"}},
		{"amex 4-6-5", "3782 822463 10005", []string{"payment-card:3782 822463 10005"}},
		{"amex contiguous", "371449635398431", []string{"payment-card:371449635398431"}},
		{"discover", "6011 1111 1111 1117", []string{"payment-card:6011 1111 1111 1117"}},
		{"jcb", "3530111333300000", []string{"payment-card:3530111333300000"}},
		{"diners 14", "3056 930902 5904", []string{"payment-card:3056 930902 5904"}},
		{"unionpay", "6200000000000005", []string{"payment-card:6200000000000005"}},
		{"maestro", "6759649826438453", []string{"payment-card:6759649826438453"}},
		{"json", `{"card":"4111-1111-1111-1111"}`, []string{"payment-card:4111-1111-1111-1111"}},
		{"end of sentence", "Charge 4111 1111 1111 1111.", []string{"payment-card:4111 1111 1111 1111"}},

		{"bad luhn", "4111 1111 1111 1112", nil},
		{"bad luhn contiguous", "4111111111111112", nil},
		{"unknown issuer", "1234 5678 1234 5670", nil},
		{"unknown issuer 9", "9111111111111111", nil},
		{"visa wrong length", "411111111111116", nil},
		{"amex wrong length", "3782822463100056", nil},
		{"mixed separators", "4111 1111-1111 1111", nil},
		{"too many digits", "4111 1111 1111 1111 1111", nil},
		{"twenty digits", "41111111111111111111", nil},
		{"glued to hex", "4111111111111111e5f3c2a1b0d9e8f7a6b5c4d3", nil},
		{"in a decimal", "4111111111111111.5", nil},
		{"after a spaced number", "12 4111 1111 1111 1111", nil},
		{"first group not four", "41111 11111 11111 1", nil},
		{"short group in the middle", "4111 11 1111 1111 11", nil},
	})
}

func TestIBAN(t *testing.T) {
	runCases(t, New(), []scanCase{
		{"germany printed", "IBAN DE89 3704 0044 0532 0130 00, BIC COBADEFFXXX", []string{"iban:DE89 3704 0044 0532 0130 00"}},
		{"germany electronic", "DE89370400440532013000", []string{"iban:DE89370400440532013000"}},
		{"uk letters in bban", "GB82 WEST 1234 5698 7654 32", []string{"iban:GB82 WEST 1234 5698 7654 32"}},
		{"france letter inside", "FR1420041010050500013M02606", []string{"iban:FR1420041010050500013M02606"}},
		{"netherlands", "NL91ABNA0417164300.", []string{"iban:NL91ABNA0417164300"}},
		{"belgium multiple of four", "BE68 5390 0754 7034", []string{"iban:BE68 5390 0754 7034"}},
		{"norway shortest", "NO9386011117947", []string{"iban:NO9386011117947"}},
		{"saint lucia longest", "LC55HEMM000100010012001200023015", []string{"iban:LC55HEMM000100010012001200023015"}},
		{"json", `{"iban":"CH9300762011623852957"}`, []string{"iban:CH9300762011623852957"}},

		{"bad check digits", "DE88 3704 0044 0532 0130 00", nil},
		{"bad account digit", "DE89370400440532013001", nil},
		{"check digits 00", "DE00370400440532013000", nil},
		{"unknown country", "XX89370400440532013000", nil},
		{"too short", "DE8937040044053201300", nil},
		{"too long", "DE893704004405320130000", nil},
		{"lower case", "de89370400440532013000", nil},
		{"glued to a word", "XDE89370400440532013000", nil},
		{"bad grouping", "DE89 37040044 0532 0130 00", nil},
		{"upper-case words", "HTTP2 SHA256 AB12 CD34 ISO8601 UTF8", nil},
	})
}

func TestSSN(t *testing.T) {
	runCases(t, New(), []scanCase{
		{"dashed", "SSN 123-45-6789", []string{"us-ssn:123-45-6789"}},
		{"dashed without label", "id: 219-09-9998.", []string{"us-ssn:219-09-9998"}},
		{"json label", `{"ssn":"123456789"}`, []string{"us-ssn:123456789"}},
		{"json label spaced", `{"ssn" : "123456789"}`, []string{"us-ssn:123456789"}},
		{"label colon", "SSN: 123456789", []string{"us-ssn:123456789"}},
		{"label hash", "ssn#123456789", []string{"us-ssn:123456789"}},
		{"snake key", "user_ssn=123456789", []string{"us-ssn:123456789"}},
		{"camel key", `"spouseSSN": "123456789"`, []string{"us-ssn:123456789"}},
		{"social security number", "Social Security Number 123 45 6789", []string{"us-ssn:123 45 6789"}},
		{"social security no", "social security no. 123456789", []string{"us-ssn:123456789"}},
		{"social security", "his social security: 123456789", []string{"us-ssn:123456789"}},
		{"camel social security", `"socialSecurityNumber":"123456789"`, []string{"us-ssn:123456789"}},
		{"ssn number", "SSN number 123456789", []string{"us-ssn:123456789"}},

		{"area 000", "SSN 000-12-3456", nil},
		{"area 666", "SSN 666-12-3456", nil},
		{"area 9xx", "SSN 912-34-5678", nil},
		{"group 00", "SSN 123-00-4567", nil},
		{"serial 0000", "SSN 123-45-0000", nil},
		{"undashed without label", "tracking 123456789", nil},
		{"undashed in json without label", `{"id":123456789}`, nil},
		{"spaced without label", "123 45 6789", nil},
		{"label too far", "SSN is on file, ref 123456789", nil},
		{"label is part of a word", "classn 123456789", nil},
		{"undashed bad range with label", "SSN 666123456", nil},
		{"longer number", "123-45-67890", nil},
		{"dashed inside more", "1-123-45-6789", nil},
		{"zip plus four", "90210-1234", nil},
	})
}

// TestMixed covers hard negatives for all types at once and text with several findings.
func TestMixed(t *testing.T) {
	runCases(t, New(), []scanCase{
		{"uuid", "id 123e4567-e89b-12d3-a456-426614174000 and 55500000-1234-4567-8901-555123456789", nil},
		{"commit sha", "commit 9fceb02d0ae598e95dc970b74767f19372d61af8 (4111111111111111a)", nil},
		{"all-digit short sha", "fixed in 5551234", nil},
		{"prices", "$2,099.00, €1.234.567,89, USD 4,111,111.11 and 5,551,234,567", nil},
		{"version strings", "go1.26.8 linux/amd64, kernel 6.8.0-45-generic, build 555.123.45678", nil},
		{"coordinates", "52.520008, 13.404954", nil},
		{"prose", "The Q3 report (pages 12-14) covers 2023-2024; see section 4.2.1 and RFC 5322.", nil},
		{"markdown table", "| 555 | 123 | 4567 |", nil},
		{"several", "Ann (ann@example.com, +44 20 7946 0958) paid with 4111 1111 1111 1111 from DE89370400440532013000; SSN 123-45-6789.",
			[]string{"email:ann@example.com", "phone:+44 20 7946 0958", "payment-card:4111 1111 1111 1111", "iban:DE89370400440532013000", "us-ssn:123-45-6789"}},
		{"adjacent", "555-123-4567.ann@example.com", []string{"phone:555-123-4567", "email:ann@example.com"}},
		{"json escapes", `{"text":"Tel:\n555-123-4567\nMail:\nann@example.com\tDE89370400440532013000\r\n4111111111111111"}`,
			[]string{"phone:555-123-4567", "email:ann@example.com", "iban:DE89370400440532013000", "payment-card:4111111111111111"}},
		{"not an escape", `x\q555-123-4567 n555-123-4567`, nil},
		{"empty", "", nil},
		{"utf8", "Téléphone : +33 1 23 45 67 89 — merci", []string{"phone:+33 1 23 45 67 89"}},
	})
}

func TestNewSelectsTypes(t *testing.T) {
	text := "ann@example.com 555-123-4567 4111111111111111 DE89370400440532013000 123-45-6789"
	for _, typ := range AllTypes() {
		ms := New(typ).Scan(text)
		if len(ms) != 1 || ms[0].Type != typ {
			t.Errorf("New(%s).Scan: %q", typ, found(text, ms))
		}
	}
	if got := found(text, New(Email, SSN).Scan(text)); !slices.Equal(got, []string{"email:ann@example.com", "us-ssn:123-45-6789"}) {
		t.Errorf("New(Email, SSN).Scan: %q", got)
	}
	if got, want := len(New().Scan(text)), len(AllTypes()); got != want {
		t.Errorf("New().Scan found %d, want %d", got, want)
	}
}

func TestNewPanicsOnUnknownType(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New(\"passport\") did not panic")
		}
	}()
	New(Type("passport"))
}

func TestParseType(t *testing.T) {
	for _, typ := range AllTypes() {
		got, err := ParseType(string(typ))
		if err != nil || got != typ {
			t.Errorf("ParseType(%q) = %q, %v", typ, got, err)
		}
	}
	_, err := ParseType("ssn")
	if err == nil {
		t.Fatal("ParseType(\"ssn\"): no error")
	}
	for _, typ := range AllTypes() {
		if !strings.Contains(err.Error(), string(typ)) {
			t.Errorf("error %q does not name %q", err, typ)
		}
	}
}

func TestIBANRegistry(t *testing.T) {
	d := New(IBAN)
	countries := 0
	for _, l := range d.ibanLen {
		if l != 0 {
			countries++
			if l < 15 || l > 34 {
				t.Errorf("IBAN length %d out of range", l)
			}
		}
	}
	if countries != 89 {
		t.Errorf("%d countries in the IBAN registry table, want 89", countries)
	}
}

// TestRescanAlone: every match, scanned on its own (an undashed SSN after a label), is found
// again whole. This is the property the fuzz target checks on arbitrary input.
func TestRescanAlone(t *testing.T) {
	checkRescan(t, New(), corpus(4<<10))
}

func checkRescan(t testing.TB, d *Detector, text string) {
	t.Helper()
	for _, m := range d.Scan(text) {
		alone := text[m.Start:m.End]
		prefix := ""
		if m.Type == SSN {
			prefix = "SSN "
		}
		again := d.Scan(prefix + alone)
		if len(again) != 1 || again[0] != (Match{Type: m.Type, Start: len(prefix), End: len(prefix) + len(alone)}) {
			t.Fatalf("%s %q found in %q, but alone: %+v", m.Type, alone, text, again)
		}
	}
}

func TestScanAllocations(t *testing.T) {
	d := New()
	text := corpus(1 << 10)
	if n := testing.AllocsPerRun(100, func() { d.Scan("no personal data in here, 2024-05-13 v1.2.3") }); n != 0 {
		t.Errorf("Scan without findings allocated %.0f times", n)
	}
	if n := testing.AllocsPerRun(100, func() { d.Scan(text) }); n > 4 {
		t.Errorf("Scan of 1 KiB allocated %.0f times", n)
	}
}
