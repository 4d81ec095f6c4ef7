package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	"github.com/fenquan/fenquan/services/shared/store"
	"github.com/fenquan/fenquan/tools/internal/up"
)

// loadEventsDirect writes copies of one real case's events straight into etcd, as the
// approval service writes them (one key per event under <root>/approval-events/<org>/
// <case>/<seq>, each written once), until the org holds about n more events. Each copy
// is a new case paying one of payees payees, with its own amount and times a few seconds
// apart, so the payment rules see related payments as they would in a busy bureau.
//
// This is how the benchmark reaches a million events: writing 250,000 cases through the
// approval API takes hours on this machine and holds them all in the approval service's
// cache; the supervision consumer and the backtest read only the event keys.
func loadEventsDirect(ctx context.Context, cli *clientv3.Client, template string, n, payees int) (int, time.Duration, error) {
	org := "czj"
	prefix := up.KeyRoot + "/approval-events/" + org + "/"
	r, err := cli.Get(ctx, prefix+template+"/", clientv3.WithPrefix())
	if err != nil {
		return 0, 0, err
	}
	if len(r.Kvs) == 0 {
		return 0, 0, fmt.Errorf("template case %s has no events", template)
	}
	tmpl := make([]*approvalv1.CaseEvent, len(r.Kvs))
	suffix := make([]string, len(r.Kvs))
	for i, kv := range r.Kvs {
		e := &approvalv1.CaseEvent{}
		if err := store.Unmarshal(kv.Value, e); err != nil {
			return 0, 0, err
		}
		tmpl[i] = e
		suffix[i] = strings.TrimPrefix(string(kv.Key), prefix+template+"/")
	}
	cases := (n + len(tmpl) - 1) / len(tmpl)
	base := time.Now().Add(-time.Duration(cases) * 2 * time.Second)
	caseName := "orgs/" + org + "/cases/" + template
	const perTxn = 512 // events per transaction
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr error
	var errMu sync.Mutex
	t0 := time.Now()
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ops := make([]clientv3.Op, 0, perTxn)
			flush := func() bool {
				if len(ops) == 0 {
					return true
				}
				if _, err := cli.Txn(ctx).Then(ops...).Commit(); err != nil {
					errMu.Lock()
					firstErr = err
					errMu.Unlock()
					return false
				}
				ops = ops[:0]
				return true
			}
			for {
				i := next.Add(1)
				if i > int64(cases) {
					break
				}
				id := fmt.Sprintf("bl-%07d", i)
				name := "orgs/" + org + "/cases/" + id
				shift := base.Add(time.Duration(i) * 2 * time.Second).Sub(tmpl[0].GetTime().AsTime())
				payee := &approvalv1.Payee{Name: fmt.Sprintf("收款单位%d", i%int64(payees)), Code: fmt.Sprintf("BENCH%06d", i%int64(payees))}
				amount := float64(100000 + (i*7919)%900000)
				for j, te := range tmpl {
					e := cloneEvent(te, caseName, name, shift, payee, amount)
					ops = append(ops, clientv3.OpPut(prefix+id+"/"+suffix[j], string(store.Marshal(e))))
				}
				if len(ops) >= perTxn && !flush() {
					return
				}
			}
			flush()
		}()
	}
	wg.Wait()
	return cases * len(tmpl), time.Since(t0), firstErr
}

// cloneEvent is te for the case name instead of from, every time in it moved by shift,
// paying payee amount.
func cloneEvent(te *approvalv1.CaseEvent, from, name string, shift time.Duration, payee *approvalv1.Payee, amount float64) *approvalv1.CaseEvent {
	e := proto.Clone(te).(*approvalv1.CaseEvent)
	e.Name = strings.Replace(e.Name, from, name, 1)
	e.Case = name
	if c := e.CaseAfter; c != nil {
		c.Name = name
		if p := c.Payload; p != nil {
			p.Payee = payee
			p.Amount = amount
		}
	}
	shiftTimes(e.ProtoReflect(), shift)
	return e
}

// shiftTimes moves every google.protobuf.Timestamp in m by d.
func shiftTimes(m protoreflect.Message, d time.Duration) {
	if m.Descriptor().FullName() == "google.protobuf.Timestamp" {
		ts := m.Interface().(*timestamppb.Timestamp)
		t := ts.AsTime().Add(d)
		ts.Seconds, ts.Nanos = t.Unix(), int32(t.Nanosecond())
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Message() == nil:
		case fd.IsList():
			for i := 0; i < v.List().Len(); i++ {
				shiftTimes(v.List().Get(i).Message(), d)
			}
		case fd.IsMap():
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				if fd.MapValue().Message() != nil {
					shiftTimes(mv.Message(), d)
				}
				return true
			})
		default:
			shiftTimes(v.Message(), d)
		}
		return true
	})
}
