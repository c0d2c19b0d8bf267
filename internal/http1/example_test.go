package http1_test

import (
	"fmt"
	"io"
	"net"
	"net/http"

	"gatehouse/internal/http1"
)

func ExampleServer() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &http1.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello from "+r.URL.Path)
	})}
	go srv.Serve(ln)
	defer srv.Close()

	resp, err := http.Get("http://" + ln.Addr().String() + "/mcp")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Proto, resp.StatusCode, resp.ContentLength, string(b))
	// Output: HTTP/1.1 200 15 hello from /mcp
}
