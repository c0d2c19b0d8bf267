package confusables

import "testing"

func TestSkeleton(t *testing.T) {
	for in, want := range map[string]string{
		"іgnore":    "ignore",  // Cyrillic і
		"ΑΡΙ key":   "API key", // Greek capitals
		"игнорируй": "игнopиpyй",
		"plain":     "plain",
		"忽略":        "忽略",
		"ІGΝОRЕ":    "IGNORE", // Cyrillic І, О, Е and a Greek Ν
		"УОUR һоmе": "YOUR home",
	} {
		if got := Skeleton(in); got != want {
			t.Errorf("Skeleton(%q) = %q, want %q", in, got, want)
		}
	}
}
