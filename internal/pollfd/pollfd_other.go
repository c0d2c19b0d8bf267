//go:build !unix

package pollfd

import "os"

// Pollable returns f unchanged: the hang it avoids is described for Unix.
func Pollable(f *os.File) (*os.File, func()) { return f, func() {} }
