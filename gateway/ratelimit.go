package gateway

import (
	"container/list"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"
)

// allowPublic applies the per-client limit of public routes; on refusal it answers 429
// with Retry-After and returns false.
func (g *gateway) allowPublic(w http.ResponseWriter, r *http.Request, st *requestState) bool {
	st.limited = true
	wait := g.limiter.reserve(clientKey(st.client), time.Now())
	if wait == 0 {
		return true
	}
	g.metrics.rejected.WithLabelValues("rate_limited").Inc()
	secs := max(1, int(math.Ceil(wait.Seconds())))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	s := gatewayStatus(codes.ResourceExhausted, ReasonRateLimited,
		fmt.Sprintf("too many requests; retry in %d s", secs), fmt.Sprintf("请求过于频繁，请 %d 秒后重试", secs))
	if withRetry, err := s.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(time.Duration(secs) * time.Second)}); err == nil {
		s = withRetry
	}
	g.writeStatus(w, r, http.StatusTooManyRequests, s)
	return false
}

// clientKey is the rate-limited unit: an IPv4 address, or the /64 of an IPv6 address (one
// subscriber usually holds a whole /64).
func clientKey(a netip.Addr) netip.Addr {
	if a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			return p.Addr()
		}
	}
	return a
}

// limiterSet holds a token bucket per client key, at most max of them: the least recently
// used is forgotten first, so memory stays bounded whatever the number of clients.
type limiterSet struct {
	limit rate.Limit
	burst int
	max   int

	mu    sync.Mutex
	order *list.List // of *limiterEntry, most recently used first
	byKey map[netip.Addr]*list.Element
}

type limiterEntry struct {
	key netip.Addr
	lim *rate.Limiter
}

func newLimiterSet(limit rate.Limit, burst, max int) *limiterSet {
	return &limiterSet{limit: limit, burst: burst, max: max, order: list.New(), byKey: map[netip.Addr]*list.Element{}}
}

func (s *limiterSet) get(key netip.Addr) *rate.Limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.byKey[key]; ok {
		s.order.MoveToFront(e)
		return e.Value.(*limiterEntry).lim
	}
	for s.order.Len() >= s.max {
		oldest := s.order.Back()
		delete(s.byKey, oldest.Value.(*limiterEntry).key)
		s.order.Remove(oldest)
	}
	lim := rate.NewLimiter(s.limit, s.burst)
	s.byKey[key] = s.order.PushFront(&limiterEntry{key: key, lim: lim})
	return lim
}

func (s *limiterSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.order.Len()
}

// reserve takes a token for key now and returns 0, or, when none is available, how long
// until one is (taking nothing).
func (s *limiterSet) reserve(key netip.Addr, now time.Time) time.Duration {
	if s.limit == rate.Inf {
		return 0
	}
	res := s.get(key).ReserveN(now, 1)
	if !res.OK() {
		return time.Minute
	}
	wait := res.DelayFrom(now)
	if wait > 0 {
		res.CancelAt(now)
	}
	return wait
}
