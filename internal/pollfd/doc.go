// Package pollfd hands a process's standard input and output to Go's network poller.
//
// A file the process inherits (os.Stdin, os.Stdout) is read and written with blocking
// system calls: a goroutine waiting for input sits in read(2). Go 1.26's runtime can miss a
// goroutine that enters such a call just as another goroutine starts to stop the world for a
// garbage collection, and the stop then waits until the call returns. In a stdio MCP server
// the reader waits for the next message while the handler of the last one allocates; at
// concurrency 1 the next message comes only after the answer, so the two wait on each other
// (seen with the load tool's stdio upstream: a call hung until the client gave up, about once
// in 10^5 calls). A pipe or socket put in non-blocking mode is waited on in the poller
// instead, where the stop finds nothing to wait for.
package pollfd
