package pdp

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"

	policyv1 "github.com/fenquan/fenquan/proto/fenquan/policy/v1"
)

// Keys of the published policy sets (the policy service writes them; every service reads):
//
//	<root>/policy/sets/<id>                  a policyv1.PolicySet
//	<root>/policy/active                     Activation (JSON): which set is active
//	<root>/policy/status/<service>/<instance> InstanceStatus (JSON), under the instance's lease

// SetsPrefix is where the sets are.
func SetsPrefix(root string) string { return root + "/policy/sets/" }

// ActiveKey points at the active set.
func ActiveKey(root string) string { return root + "/policy/active" }

// StatusPrefix is where running instances report what they loaded.
func StatusPrefix(root string) string { return root + "/policy/status/" }

// Activation is the value of the active pointer.
type Activation struct {
	Set         string    `json:"set"` // "policySets/{id}"
	ActivatedBy string    `json:"activated_by"`
	Time        time.Time `json:"time"`
	Reason      string    `json:"reason"` // "approve" or "rollback: …"
}

// InstanceStatus is what one running instance reports.
type InstanceStatus struct {
	Service         string    `json:"service"`
	Instance        string    `json:"instance"`
	Revision        string    `json:"revision"`
	RefusedRevision string    `json:"refused_revision,omitempty"`
	Problems        []string  `json:"problems,omitempty"`
	Time            time.Time `json:"time"`
}

// SetFromProto turns a stored set into a Set named by its resource name.
func SetFromProto(ps *policyv1.PolicySet) *Set {
	files := make(map[string][]byte, len(ps.Files))
	for k, v := range ps.Files {
		files[k] = v
	}
	return &Set{Revision: ps.Name, Files: files}
}

// Validate compiles a set and runs its tests without loading it; the error is a *SetError.
// It returns how many tests ran.
func Validate(ctx context.Context, set *Set) (int, error) {
	e, err := build(ctx, set, nil)
	if err != nil {
		return 0, err
	}
	return e.countTests(ctx)
}

// FollowConfig configures Follow.
type FollowConfig struct {
	Etcd     *clientv3.Client
	Root     string
	Service  string
	Instance string
	// Default is the embedded set, used until a set is published (and kept if the
	// published one cannot be loaded by this binary).
	Default *Set
	Logger  *slog.Logger
}

// Follow loads the active published set (or the default), then keeps following the active
// pointer until ctx ends, swapping each new set in after it compiles and passes its tests,
// and reporting what it loaded or refused. It returns once a set is loaded.
func (p *PDP) Follow(ctx context.Context, cfg FollowConfig) error {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Default != nil {
		if err := p.Load(ctx, cfg.Default); err != nil {
			return err
		}
	}
	rev, err := p.loadActive(ctx, cfg, log)
	if err != nil && p.Revision() == "" {
		return err
	}
	status := make(chan struct{}, 1)
	go p.reportStatus(ctx, cfg, status)
	status <- struct{}{}
	go func() {
		for ctx.Err() == nil {
			wch := cfg.Etcd.Watch(clientv3.WithRequireLeader(ctx), ActiveKey(cfg.Root), clientv3.WithRev(rev+1))
			for resp := range wch {
				if resp.Err() != nil {
					break
				}
				if len(resp.Events) > 0 {
					if r, _ := p.loadActive(ctx, cfg, log); r > 0 {
						rev = r
					}
					select {
					case status <- struct{}{}:
					default:
					}
				}
				rev = max(rev, resp.Header.Revision)
			}
			// Watch ended (compaction, leader loss): read the pointer again and resume.
			t := time.NewTimer(500 * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			if r, err := p.loadActive(ctx, cfg, log); err == nil {
				rev = r
				select {
				case status <- struct{}{}:
				default:
				}
			}
		}
	}()
	return nil
}

// loadActive reads the active pointer and loads its set; it returns the etcd revision read.
func (p *PDP) loadActive(ctx context.Context, cfg FollowConfig, log *slog.Logger) (int64, error) {
	resp, err := cfg.Etcd.Get(ctx, ActiveKey(cfg.Root))
	if err != nil {
		return 0, err
	}
	rev := resp.Header.Revision
	if len(resp.Kvs) == 0 {
		return rev, nil // nothing published: the default serves
	}
	var act Activation
	if err := json.Unmarshal(resp.Kvs[0].Value, &act); err != nil {
		return rev, err
	}
	sresp, err := cfg.Etcd.Get(ctx, SetsPrefix(cfg.Root)+idOf(act.Set))
	if err != nil {
		return rev, err
	}
	if len(sresp.Kvs) == 0 {
		return rev, errors.New("pdp: the active policy set " + act.Set + " is missing")
	}
	var ps policyv1.PolicySet
	if err := proto.Unmarshal(sresp.Kvs[0].Value, &ps); err != nil {
		return rev, err
	}
	ps.Name = act.Set
	if err := p.Load(ctx, SetFromProto(&ps)); err != nil {
		log.Error("published policy set refused", "set", act.Set, "err", err)
		return rev, err
	}
	return rev, nil
}

func idOf(name string) string {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '/' {
			return name[i+1:]
		}
	}
	return name
}

// reportStatus keeps this instance's status key current under a lease.
func (p *PDP) reportStatus(ctx context.Context, cfg FollowConfig, changed <-chan struct{}) {
	key := StatusPrefix(cfg.Root) + cfg.Service + "/" + cfg.Instance
	var lease clientv3.LeaseID
	for {
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, _ = cfg.Etcd.Delete(dctx, key)
			cancel()
			return
		case <-changed:
		case <-time.After(30 * time.Second):
		}
		st := InstanceStatus{Service: cfg.Service, Instance: cfg.Instance, Revision: p.Revision(), Time: p.cfg.Now().UTC()}
		if r := p.Refused(); r != nil {
			st.RefusedRevision, st.Problems = r.Revision, r.Problems
		}
		b, _ := json.Marshal(st)
		if lease == 0 {
			if l, err := cfg.Etcd.Grant(ctx, 60); err == nil {
				lease = l.ID
				if ch, err := cfg.Etcd.KeepAlive(ctx, lease); err == nil {
					go func() {
						for range ch {
						}
					}()
				}
			}
		}
		if _, err := cfg.Etcd.Put(ctx, key, string(b), clientv3.WithLease(lease)); err != nil {
			lease = 0 // the lease may be gone; take a new one next time
		}
	}
}
