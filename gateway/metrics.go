package gateway

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the edge's Prometheus series. Labels are bounded: route is a path
// template (or the gateway's own route, or "unrouted"), method one of the standard ones
// or "OTHER".
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inflight prometheus.Gauge
	rejected *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "fenquan", Subsystem: "gateway", Name: "http_requests_total",
			Help: "HTTP requests by method, route template and status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "fenquan", Subsystem: "gateway", Name: "http_request_duration_seconds",
			Help:    "HTTP request latency by method and route template.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method", "route"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "fenquan", Subsystem: "gateway", Name: "http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "fenquan", Subsystem: "gateway", Name: "rejected_requests_total",
			Help: "Requests refused at the edge before reaching a service, by reason.",
		}, []string{"reason"}),
	}
	var err error
	if m.requests, err = register(reg, m.requests); err != nil {
		return nil, err
	}
	if m.duration, err = register(reg, m.duration); err != nil {
		return nil, err
	}
	if m.inflight, err = register(reg, m.inflight); err != nil {
		return nil, err
	}
	if m.rejected, err = register(reg, m.rejected); err != nil {
		return nil, err
	}
	return m, nil
}

// register adds c to reg, or returns the identical collector already there (a second
// gateway on the same registry shares the series).
func register[C prometheus.Collector](reg *prometheus.Registry, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		var zero C
		return zero, err
	}
	return c, nil
}
