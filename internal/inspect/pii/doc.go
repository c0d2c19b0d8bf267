// Package pii finds personal data in text: e-mail addresses, phone numbers, payment card
// numbers, IBANs and US social security numbers.
//
// It runs over every tool argument and every tool result, so it is built for speed and for
// few false positives rather than for recall on odd formats. Scan makes one pass over the
// bytes and starts a hand-written recognizer only at a cheap trigger: an '@' for e-mail, a
// digit, '+' or '(' at the start of a word for the numeric types, and an upper-case letter
// at the start of a word for IBANs. Every numeric candidate must stand alone: a digit group
// glued to letters, or continued by '.', '-', '/', ',' or ':' and more digits, is part of
// something else (a date, a version, an address, an identifier) and is not reported.
//
// What each type accepts:
//
//   - Email: a dot-atom local part and a domain of at least two labels whose last (the TLD)
//     is two or more letters; trailing punctuation is not part of the match. Of the rarely
//     used atext symbols, those that delimit addresses in URLs and markup
//     (! # $ & * / = ? ^ ` { | } ~) end the local part instead of belonging to it.
//   - Phone: '+' and a country code with 8–15 digits in all (separators ' ', '-', '.' and a
//     parenthesized group allowed; +1 numbers must be 11 digits with a valid area code), or a
//     North American national number: (NXX) XXX-XXXX, NXX-XXX-XXXX, NXX.XXX.XXXX or
//     NXX XXX XXXX, optionally after "1" and the same separator. Plain digit strings,
//     dates, times, versions and IP addresses are never phone numbers.
//   - Card: 13–19 digits, contiguous or in groups (the first of four digits) separated by
//     one kind of separator, space or dash; the issuer prefix and length must be those of
//     Visa, Mastercard, American Express, Discover, JCB, Diners Club, UnionPay or Maestro,
//     and the Luhn check must pass. A card is tried before a phone number at the same place.
//   - IBAN: a country of the SWIFT IBAN registry with its IBAN length, check digits 02–98
//     and the ISO 7064 mod-97 check, upper case, contiguous or printed in groups of four.
//   - SSN: AAA-GG-SSSS outside the ranges the SSA never assigns (area 000, 666, 900–999;
//     group 00; serial 0000); nine digits without dashes only right after a label such as
//     "SSN", "social security number" or a JSON key like "ssn" or "socialSecurityNumber".
//
// A Detector holds no mutable state and is safe for concurrent use.
package pii
