package upstream

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"gatehouse/internal/sockio"
)

// Stdio dials an upstream MCP server by starting it as a child process and speaking
// newline-delimited JSON-RPC over its stdin and stdout.
type Stdio struct {
	Name    string   // server name, for logs and errors
	Command string   // program; without a slash it is looked up in Env's PATH
	Args    []string // arguments
	Dir     string   // working directory
	// Env is exactly the environment of the child ("KEY=value"). Nothing of the gateway's own
	// environment is inherited, so the gateway's secrets never reach a child by accident.
	Env        []string
	MaxMessage int // longest line accepted from the child; 0 means 4 MiB
	Logger     *slog.Logger
	// StopGrace is how long Close waits after closing stdin before it signals; 0 means 2s.
	StopGrace time.Duration
}

var _ Dialer = (*Stdio)(nil)

// Dial starts the process. ctx bounds only the start.
func (s *Stdio) Dial(ctx context.Context, h Handler) (Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path, err := s.lookPath()
	if err != nil {
		return nil, fmt.Errorf("upstream %q: %w", s.Name, err)
	}
	cmd := exec.Command(path, s.Args...)
	cmd.Dir = s.Dir
	cmd.Env = append([]string{}, s.Env...) // non-nil: an empty environment, never the gateway's
	// Own process group, so that Close reaches grandchildren (npx starts node, for one).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}

	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("upstream %q: %w", s.Name, err)
	}
	stdoutR, stdoutW, err := os.Pipe()
	if err != nil {
		stdinR.Close()
		stdinW.Close()
		return nil, fmt.Errorf("upstream %q: %w", s.Name, err)
	}
	stderrR, stderrW, err := os.Pipe()
	if err != nil {
		stdinR.Close()
		stdinW.Close()
		stdoutR.Close()
		stdoutW.Close()
		return nil, fmt.Errorf("upstream %q: %w", s.Name, err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdinR, stdoutW, stderrW
	startErr := cmd.Start()
	// The child has its copies; ours of the child's ends must go so EOF is seen.
	stdinR.Close()
	stdoutW.Close()
	stderrW.Close()
	if startErr != nil {
		stdinW.Close()
		stdoutR.Close()
		stderrR.Close()
		return nil, fmt.Errorf("upstream %q: start %s: %w", s.Name, s.Command, startErr)
	}
	logger := s.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	max := s.MaxMessage
	if max <= 0 {
		max = 4 << 20
	}
	grace := s.StopGrace
	if grace <= 0 {
		grace = 2 * time.Second
	}
	c := &stdioConn{
		name:    s.Name,
		cmd:     cmd,
		stdin:   sockio.WrapFile(stdinW), // writes and reads without the runtime's syscall bookkeeping
		logger:  logger.With("upstream", s.Name, "pid", cmd.Process.Pid),
		done:    make(chan struct{}),
		exited:  make(chan struct{}),
		grace:   grace,
		handler: h,
	}
	c.wg.Add(2)
	go c.readStdout(sockio.WrapFile(stdoutR), max)
	go c.readStderr(stderrR)
	go c.wait()
	return c, nil
}

func (s *Stdio) lookPath() (string, error) {
	if strings.Contains(s.Command, "/") {
		p := s.Command
		if !filepath.IsAbs(p) && s.Dir != "" {
			p = filepath.Join(s.Dir, p)
		}
		return p, nil
	}
	pathList, declared := "", false
	for _, kv := range s.Env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathList, declared = v, true
		}
	}
	if !declared {
		pathList = os.Getenv("PATH")
	}
	for _, dir := range filepath.SplitList(pathList) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, s.Command)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("command %q not found in PATH", s.Command)
}

type stdioConn struct {
	name    string
	cmd     *exec.Cmd
	stdin   sockio.PipeFile
	logger  *slog.Logger
	handler Handler
	grace   time.Duration

	writeMu sync.Mutex
	wg      sync.WaitGroup // the two readers

	mu     sync.Mutex
	err    error
	closed bool
	done   chan struct{} // closed when the connection is unusable
	exited chan struct{} // closed when the process has been reaped
}

func (c *stdioConn) Send(ctx context.Context, msg []byte) error {
	select {
	case <-c.done:
		return c.Err()
	default:
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	// A child that stops reading must not hang the gateway: bound the write by ctx.
	if dl, ok := ctx.Deadline(); ok {
		c.stdin.SetWriteDeadline(dl)
	} else {
		c.stdin.SetWriteDeadline(time.Time{})
	}
	// ctx may end just as the write completes: the deadline it sets must then land before
	// the lock is released, or it would cut short the next Send's write (which has set its
	// own deadline already), failing the connection for a caller that cancelled nothing.
	var expired chan struct{}
	if ctx.Done() != nil {
		expired = make(chan struct{})
		stop := context.AfterFunc(ctx, func() {
			c.stdin.SetWriteDeadline(time.Unix(1, 0))
			close(expired)
		})
		defer func() {
			if !stop() {
				<-expired
			}
		}()
	}
	buf := make([]byte, 0, len(msg)+1)
	buf = append(append(buf, msg...), '\n')
	n, err := c.stdin.Write(buf)
	if err == nil {
		return nil
	}
	// The write deadline is ctx's (its deadline, or its end), even if the poller noticed it
	// a moment before ctx did.
	cause := ctx.Err()
	if cause == nil && errors.Is(err, os.ErrDeadlineExceeded) {
		cause = context.DeadlineExceeded
	}
	if cause != nil && n == 0 {
		// Nothing of the message reached the child: the stream is intact.
		return fmt.Errorf("upstream %q: write: %w", c.name, cause)
	}
	// Part of a message on the child's stdin frames whatever is written next as part of it:
	// the stream is broken. So is a pipe that failed. Either way the child is of no more use.
	if cause != nil {
		err = fmt.Errorf("cut short after %d of %d bytes: %w", n, len(buf), cause)
	}
	c.fail(fmt.Errorf("upstream %q: write to stdin: %w", c.name, err))
	c.mu.Lock()
	closing := c.closed
	c.mu.Unlock()
	select {
	case <-c.exited:
	default:
		if !closing {
			c.kill() // Close stops a child gently; a broken one goes now, as on the read side
		}
	}
	return c.Err()
}

func (c *stdioConn) SetProtocolVersion(string) {}

func (c *stdioConn) Done() <-chan struct{} { return c.done }

func (c *stdioConn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// fail records the first cause and marks the connection finished.
func (c *stdioConn) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
	}
	select {
	case <-c.done:
	default:
		close(c.done)
	}
}

func (c *stdioConn) readStdout(r io.ReadCloser, max int) {
	defer c.wg.Done()
	defer r.Close()
	// One reader per child process: room for a large result in one piece.
	br := bufio.NewReaderSize(r, 256<<10)
	var long []byte
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			if len(long)+len(line) > max {
				c.fail(fmt.Errorf("upstream %q: message exceeds %d bytes", c.name, max))
				c.kill()
				io.Copy(io.Discard, r)
				return
			}
			long = append(long, line...)
			continue
		}
		if len(long) > 0 {
			line = append(long, line...)
			long = long[:0]
		}
		if len(line) > max+1 {
			c.fail(fmt.Errorf("upstream %q: message exceeds %d bytes", c.name, max))
			c.kill()
			io.Copy(io.Discard, r)
			return
		}
		if msg := bytes.TrimSpace(line); len(msg) > 0 {
			// The handler may keep msg: hand it its own copy, not the reader's buffer.
			c.handler(bytes.Clone(msg), nil)
		}
		if err != nil {
			if err == io.EOF {
				// Usually the process is exiting; let wait() report its status. A child
				// that closes stdout and lives on is useless: stop it.
				select {
				case <-c.exited:
				case <-time.After(time.Second):
					c.fail(fmt.Errorf("upstream %q: closed its stdout", c.name))
					c.kill()
				}
			} else {
				c.fail(fmt.Errorf("upstream %q: read stdout: %w", c.name, err))
			}
			return
		}
	}
}

func (c *stdioConn) readStderr(r *os.File) {
	defer c.wg.Done()
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		line := sc.Text()
		if len(line) > 4096 {
			line = line[:4096] + "…"
		}
		c.logger.Info("upstream stderr", "line", line)
	}
	if err := sc.Err(); err != nil && !errors.Is(err, os.ErrClosed) {
		c.logger.Warn("upstream stderr unreadable", "err", err)
		io.Copy(io.Discard, r)
	}
}

func (c *stdioConn) wait() {
	err := c.cmd.Wait()
	if err != nil {
		c.fail(fmt.Errorf("upstream %q: process exited: %w", c.name, err))
	} else {
		c.fail(fmt.Errorf("upstream %q: process exited", c.name))
	}
	close(c.exited)
	// Grandchildren may still hold the pipes open; they go with the group.
	c.kill()
	c.wg.Wait()
}

func (c *stdioConn) kill() {
	if p := c.cmd.Process; p != nil {
		syscall.Kill(-p.Pid, syscall.SIGKILL)
	}
}

// Close stops the child the way the MCP stdio transport asks: close stdin, wait, SIGTERM,
// wait, SIGKILL. It waits until the process is reaped. Safe to call more than once.
func (c *stdioConn) Close() error {
	c.mu.Lock()
	already := c.closed
	c.closed = true
	c.mu.Unlock()
	if !already {
		c.fail(fmt.Errorf("upstream %q: connection closed", c.name))
		c.stdin.Close()
		p := c.cmd.Process
		select {
		case <-c.exited:
		case <-time.After(c.grace):
			syscall.Kill(-p.Pid, syscall.SIGTERM)
			select {
			case <-c.exited:
			case <-time.After(c.grace):
				syscall.Kill(-p.Pid, syscall.SIGKILL)
			}
		}
	}
	<-c.exited
	c.kill()
	c.wg.Wait()
	return nil
}
