package pii

// ibanRegistry is every country of the SWIFT IBAN registry (89 of them, Honduras, Oman and
// Yemen the latest) with the length of its IBANs: two letters and two digits each.
// Territories whose IBANs carry another country's code (Åland FI, the French overseas
// territories FR) are not listed on their own.
const ibanRegistry = "" +
	"AD24AE23AL28AT20AZ28BA20BE16BG22BH22BI27BR29BY28CH21CR22CY28CZ24DE22DJ27DK18DO28" +
	"EE20EG29ES24FI18FK18FO18FR27GB22GE22GI23GL18GR27GT28HN28HR21HU28IE22IL23IQ23IS26" +
	"IT27JO30KW30KZ20LB28LC32LI21LT20LU20LV21LY25MC27MD24ME22MK19MN20MR27MT31MU30NI28" +
	"NL18NO15OM23PK24PL28PS29PT25QA29RO24RS22RU33SA24SC31SD18SE24SI19SK24SM27SO23ST25" +
	"SV28TL23TN24TR26UA29VA22VG24XK20YE30"

// scanIBAN returns the end of an IBAN starting at the upper-case letter i, or -1: a
// registered country code, check digits 02–98, then the rest in upper-case letters and
// digits, either contiguous or printed in groups of four separated by single spaces, to
// exactly the country's length, passing the mod-97 check.
func (d *Detector) scanIBAN(text string, i int) int {
	n := len(text)
	if i+4 > n || !isUpper(text[i+1]) || !isDigit(text[i+2]) || !isDigit(text[i+3]) {
		return -1
	}
	length := int(d.ibanLen[int(text[i]-'A')*26+int(text[i+1]-'A')])
	if length == 0 {
		return -1
	}
	if check := (text[i+2]-'0')*10 + text[i+3] - '0'; check < 2 || check > 98 {
		return -1
	}
	var buf [34]byte
	k := copy(buf[:], text[i:i+4])
	j := i + 4
	if j < n && text[j] == ' ' {
		for k < length {
			if j >= n || text[j] != ' ' {
				return -1
			}
			j++
			for g := min(4, length-k); g > 0; g-- {
				if j >= n || !isIBANChar(text[j]) {
					return -1
				}
				buf[k] = text[j]
				k, j = k+1, j+1
			}
		}
	} else {
		for k < length && j < n && isIBANChar(text[j]) {
			buf[k] = text[j]
			k, j = k+1, j+1
		}
		if k < length {
			return -1
		}
	}
	if j < n && (isWord(text[j]) || text[j] == '@') {
		return -1 // longer than the country's IBANs
	}
	if mod97(buf[:length]) != 1 {
		return -1
	}
	return j
}

func isIBANChar(c byte) bool { return isDigit(c) || isUpper(c) }

// mod97 is the ISO 7064 MOD 97-10 remainder of an IBAN: the first four characters moved to
// the end, each letter read as two digits (A = 10 … Z = 35).
func mod97(iban []byte) int {
	r := 0
	for k := range iban {
		c := iban[(k+4)%len(iban)]
		if isDigit(c) {
			r = (r*10 + int(c-'0')) % 97
		} else {
			r = (r*100 + int(c-'A') + 10) % 97
		}
	}
	return r
}
