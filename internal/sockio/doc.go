// Package sockio reads and writes TCP sockets with the system call made directly, without
// the Go runtime's blocking-syscall bookkeeping.
//
// Go's net package runs every read and write on a non-blocking socket as a potentially
// blocking system call: the goroutine hands its scheduler slot (P) to the runtime and, when
// the process was idle a moment before, wakes the runtime's monitor thread (sysmon) so that it
// can take the slot back should the call block. A read or write on a non-blocking socket
// never blocks, so on a proxy that goes idle between calls this bookkeeping is pure cost: a
// futex wake and a monitor thread that runs a few rounds, on every call. Conn makes the same
// calls through the socket's syscall.RawConn with syscall.RawSyscall, so the poller still
// parks the goroutine when there is nothing to read (or no room to write), deadlines and
// Close behave as on the wrapped connection, and the runtime is not involved otherwise.
//
// Only Linux takes the direct path; elsewhere Wrap returns the connection unchanged.
package sockio
