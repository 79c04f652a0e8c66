// The Go peer of the cgibridge benchmark: net/http/cgi serving every file of a directory
// under /cgi-bin on 127.0.0.1, on a free port it prints as "listening <port>". Standard
// library only, so it builds without the network. The names, comma-separated, are the
// server's variables passed on to scripts (the bench gives cgibridge's own default).
//
//	go-cgi <scripts-dir> [NAME,NAME...]
package main

import (
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	if len(os.Args) < 2 || len(os.Args) > 3 {
		log.Fatal("usage: go-cgi <scripts-dir> [NAME,NAME...]")
	}
	var inherit []string
	if len(os.Args) == 3 && os.Args[2] != "" {
		inherit = strings.Split(os.Args[2], ",")
	}
	dir, err := filepath.Abs(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening %d\n", ln.Addr().(*net.TCPAddr).Port)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/cgi-bin/")
		// One path segment only: no PATH_INFO, nothing outside dir.
		if name == r.URL.Path || name == "" || strings.Contains(name, "/") {
			http.NotFound(w, r)
			return
		}
		// A handler per request, as a directory of scripts needs; Dir is the scripts' cwd.
		// InheritEnv: what cgibridge passes, so every host's scripts do the same work.
		h := &cgi.Handler{Path: filepath.Join(dir, name), Root: "/cgi-bin/" + name, Dir: dir, InheritEnv: inherit}
		h.ServeHTTP(w, r)
	})
	log.Fatal(http.Serve(ln, handler))
}
