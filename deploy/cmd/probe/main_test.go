package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer ok.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "not serving", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	if err := check([]string{ok.URL}, time.Second); err != nil {
		t.Fatalf("healthy: %v", err)
	}
	if err := check([]string{ok.URL, down.URL}, time.Second); err == nil {
		t.Fatal("a 503 passed")
	}
	if err := check([]string{"http://127.0.0.1:1/readyz"}, time.Second); err == nil {
		t.Fatal("a closed port passed")
	}
}
