package transport

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"gatehouse/internal/identity"
	"io"
	"log/slog"
	"sync"

	"gatehouse/internal/gateway"
	"gatehouse/internal/jsonrpc"
)

// StdioOptions configure ServeStdio.
type StdioOptions struct {
	MaxMessage int // longest line accepted; 0 means 4 MiB
	Logger     *slog.Logger
	// Identity is the client: the local user, or the one configured (identity.stdio).
	Identity *identity.Identity
}

// lineWriter serialises whole messages onto one writer (stdout).
type lineWriter struct {
	mu  sync.Mutex
	w   *bufio.Writer
	err error
}

func (lw *lineWriter) Send(msg []byte) error {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if lw.err != nil {
		return lw.err
	}
	if bytes.IndexByte(msg, '\n') >= 0 {
		// The stdio transport frames by newline: a raw newline would split the message.
		msg = bytes.ReplaceAll(msg, []byte("\n"), nil)
	}
	lw.w.Write(msg)
	lw.w.WriteByte('\n')
	lw.err = lw.w.Flush()
	return lw.err
}

// ServeStdio serves one client on r/w (stdin/stdout): newline-delimited JSON-RPC, one session.
// It returns when r ends (the client closed stdin) or ctx is done, after the requests in
// flight have been answered.
func ServeStdio(ctx context.Context, g *gateway.Gateway, r io.Reader, w io.Writer, opts StdioOptions) error {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	max := opts.MaxMessage
	if max <= 0 {
		max = 4 << 20
	}
	out := &lineWriter{w: bufio.NewWriterSize(w, 64<<10)}
	sess := g.NewSession("stdio", opts.Identity)
	defer sess.Close()
	sess.SetStandalone(out)

	lines := make(chan []byte)
	readErr := make(chan error, 1)
	go func() {
		br := bufio.NewReaderSize(r, 64<<10)
		for {
			line, err := readLine(br, max)
			if len(bytes.TrimSpace(line)) > 0 {
				select {
				case lines <- line:
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				readErr <- err
				return
			}
		}
	}()

	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-readErr:
			if errors.Is(err, io.EOF) {
				return nil
			}
			if errors.Is(err, errLineTooLong) {
				out.Send(jsonrpc.ErrorResponse(nil, jsonrpc.CodeLimitExceeded, err.Error(), nil))
			}
			return err
		case line := <-lines:
			msg, err := jsonrpc.Parse(line)
			if err != nil {
				code := jsonrpc.CodeParseError
				if errors.Is(err, jsonrpc.ErrInvalid) || errors.Is(err, jsonrpc.ErrBatch) {
					code = jsonrpc.CodeInvalidRequest
				}
				logger.Warn("invalid message from client", "err", err)
				out.Send(jsonrpc.ErrorResponse(nil, code, err.Error(), nil))
				continue
			}
			if msg.Kind != jsonrpc.KindRequest {
				sess.Handle(ctx, msg, nil)
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if resp := sess.Handle(ctx, msg, out); resp != nil {
					out.Send(resp)
				}
			}()
		}
	}
}

var errLineTooLong = errors.New("message too long")

// readLine reads one line of at most max bytes. A longer line is an error: the stream cannot
// be resynchronised safely.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(buf)+len(chunk) > max+1 {
			return nil, fmt.Errorf("%w: a message exceeds %d bytes (limits.max_message_bytes)", errLineTooLong, max)
		}
		buf = append(buf, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		return buf, err
	}
}
