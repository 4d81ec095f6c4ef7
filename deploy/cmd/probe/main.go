// Command probe is the health check of the Fenquan images, which have no shell and no
// curl: `probe URL...` asks each URL and exits 0 when every one answers 2xx, 1 otherwise
// (compose healthchecks: `probe http://127.0.0.1:7202/readyz`). `probe -hold ADDR` serves
// /healthz on ADDR until SIGINT or SIGTERM: the process that holds the network namespace
// the compose site's services share (deploy/compose/compose.yaml).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	hold := flag.String("hold", "", "serve /healthz on this address until stopped, instead of checking URLs")
	timeout := flag.Duration("timeout", 3*time.Second, "deadline of each check")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: probe [-timeout 3s] URL...  |  probe -hold ADDR")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *hold != "" {
		if err := serve(*hold); err != nil {
			fmt.Fprintln(os.Stderr, "probe:", err)
			os.Exit(1)
		}
		return
	}
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := check(flag.Args(), *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(1)
	}
}

// check asks every URL; all must answer 2xx within timeout.
func check(urls []string, timeout time.Duration) error {
	c := &http.Client{Timeout: timeout}
	var errs []error
	for _, u := range urls {
		resp, err := c.Get(u)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			errs = append(errs, fmt.Errorf("%s: %s", u, resp.Status))
		}
	}
	return errors.Join(errs...)
}

// serve answers /healthz on addr until SIGINT or SIGTERM.
func serve(addr string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
