package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/etcdx"
	"github.com/fenquan/fenquan/tools/internal/load"
	"github.com/fenquan/fenquan/tools/internal/up"
)

const benchOrg = "bench"

var (
	getPower   = "/" + registryv1.CatalogService_ServiceDesc.ServiceName + "/GetPower"
	getFlow    = "/" + registryv1.CatalogService_ServiceDesc.ServiceName + "/GetFlow"
	listPowers = "/" + registryv1.CatalogService_ServiceDesc.ServiceName + "/ListPowers"
)

// registryBench loads n powers each with one flow, then measures Get and List(page 50)
// over gRPC and REST against raw etcd gets and ranges of the same keys.
func registryBench(ctx context.Context, n, conc int, d time.Duration) error {
	s, dir, tok, err := startStack(ctx, "bench", "bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	defer s.Stop()
	actx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)

	conns := make([]*grpc.ClientConn, 4)
	for i := range conns {
		if conns[i], err = grpc.NewClient(s.GRPC["registry"], grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
			return err
		}
		defer conns[i].Close()
	}
	cat := registryv1.NewCatalogServiceClient(conns[0])

	t0 := time.Now()
	if err := loadCatalog(actx, cat, n); err != nil {
		return err
	}
	loadTime := time.Since(t0)
	fmt.Fprintf(os.Stderr, "loaded %d powers and %d flows in %s\n", n, n, loadTime.Round(time.Millisecond))

	raw, err := etcdx.NewClient(etcdx.ClientConfig{Endpoints: s.Etcd.Endpoints})
	if err != nil {
		return err
	}
	defer raw.Close()
	powerKey := func(i int) string { return fmt.Sprintf("%s/registry/%s/powers/p%05d", up.KeyRoot, benchOrg, i) }
	powerName := func(i int) string { return fmt.Sprintf("orgs/%s/powers/p%05d", benchOrg, i) }

	httpc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}}
	rest := func(path string) error {
		req, _ := http.NewRequest(http.MethodGet, s.GatewayURL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := httpc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != 200 {
			return fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		return nil
	}
	client := func(w int) registryv1.CatalogServiceClient {
		return registryv1.NewCatalogServiceClient(conns[w%len(conns)])
	}

	// Each list worker walks the catalogue page by page, restarting at the end, so pages
	// come from every position of the key space.
	tokens := make([]string, conc)
	restTokens := make([]string, conc)

	var results []load.Result
	scenarios := []struct {
		name string
		op   load.Op
	}{
		{"etcd Get (raw, baseline)", func(ctx context.Context, _ int, r *rand.Rand) error {
			_, err := raw.Get(ctx, powerKey(r.IntN(n)))
			return err
		}},
		{"gRPC GetPower", func(ctx context.Context, w int, r *rand.Rand) error {
			var reply load.RawReply
			return load.Invoke(actx, conns[w%len(conns)], getPower, &registryv1.GetPowerRequest{Name: powerName(r.IntN(n))}, &reply)
		}},
		{"gRPC GetPower (decoding client)", func(ctx context.Context, w int, r *rand.Rand) error {
			_, err := client(w).GetPower(actx, &registryv1.GetPowerRequest{Name: powerName(r.IntN(n))})
			return err
		}},
		{"REST GetPower", func(ctx context.Context, _ int, r *rand.Rand) error {
			return rest("/v1/" + powerName(r.IntN(n)))
		}},
		{"etcd Range 50 (raw, baseline)", func(ctx context.Context, _ int, r *rand.Rand) error {
			_, err := raw.Get(ctx, powerKey(r.IntN(n)), clientv3.WithRange(clientv3.GetPrefixRangeEnd(fmt.Sprintf("%s/registry/%s/powers/", up.KeyRoot, benchOrg))), clientv3.WithLimit(50))
			return err
		}},
		{"gRPC ListPowers page 50", func(ctx context.Context, w int, _ *rand.Rand) error {
			var reply load.RawReply
			err := load.Invoke(actx, conns[w%len(conns)], listPowers, &registryv1.ListPowersRequest{Parent: "orgs/" + benchOrg, PageSize: 50, PageToken: tokens[w]}, &reply)
			if err == nil {
				tokens[w] = load.StringField(reply.Bytes, 2) // next_page_token
			}
			return err
		}},
		{"gRPC ListPowers page 50, category filter", func(ctx context.Context, w int, r *rand.Rand) error {
			var reply load.RawReply
			return load.Invoke(actx, conns[w%len(conns)], listPowers, &registryv1.ListPowersRequest{Parent: "orgs/" + benchOrg, PageSize: 50,
				Category: registryv1.PowerCategory(1 + r.IntN(10))}, &reply)
		}},
		{"REST ListPowers page 50", func(ctx context.Context, w int, _ *rand.Rand) error {
			path := "/v1/orgs/" + benchOrg + "/powers?pageSize=50"
			if restTokens[w] != "" {
				path += "&pageToken=" + restTokens[w]
			}
			// The walk advances through gRPC-equivalent tokens: read them from the body.
			req, _ := http.NewRequest(http.MethodGet, s.GatewayURL+path, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := httpc.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			if resp.StatusCode != 200 {
				return fmt.Errorf("HTTP %d", resp.StatusCode)
			}
			restTokens[w] = nextToken(b)
			return nil
		}},
		{"gRPC GetFlow", func(ctx context.Context, w int, r *rand.Rand) error {
			var reply load.RawReply
			return load.Invoke(actx, conns[w%len(conns)], getFlow, &registryv1.GetFlowRequest{Name: powerName(r.IntN(n)) + "/flows/f"}, &reply)
		}},
	}
	for _, sc := range scenarios {
		if scenarioFilter != "" && !strings.Contains(sc.name, scenarioFilter) {
			continue
		}
		r := load.Run(ctx, sc.name, conc, d, sc.op)
		if r.FirstError != nil {
			fmt.Fprintf(os.Stderr, "%s: %d errors, first: %v\n", sc.name, r.Errors, r.FirstError)
		}
		fmt.Fprintf(os.Stderr, "%-45s %8.0f ops/s  p50 %6.2f ms  p99 %6.2f ms\n", r.Name, r.OpsPerSec(),
			float64(r.P50.Microseconds())/1000, float64(r.P99.Microseconds())/1000)
		results = append(results, r)
	}

	fmt.Printf("### Registry: %d powers and %d flows, %d concurrent clients, %s per scenario\n\n", n, n, conc, d)
	fmt.Printf("Machine: %s. Command: `go run ./tools/bench registry -n %d -c %d -d %s`.\n\n", machine(), n, conc, d)
	load.Table(os.Stdout, results, map[string]string{
		"gRPC GetPower": "etcd Get (raw, baseline)", "gRPC GetPower (decoding client)": "etcd Get (raw, baseline)", "REST GetPower": "etcd Get (raw, baseline)", "gRPC GetFlow": "etcd Get (raw, baseline)",
		"gRPC ListPowers page 50": "etcd Range 50 (raw, baseline)", "gRPC ListPowers page 50, category filter": "etcd Range 50 (raw, baseline)",
		"REST ListPowers page 50": "etcd Range 50 (raw, baseline)",
	})
	fmt.Printf("\nLoading %d powers and %d flows (published, through ApplyCatalog in batches of 500 objects): %s. "+
		"Process RSS after the run (etcd, registry, gateway and the load generator together): %.0f MiB.\n",
		n, n, loadTime.Round(time.Millisecond), rssMiB())
	return nil
}

// nextToken pulls "nextPageToken" out of a list response without a full decode.
func nextToken(body []byte) string {
	const key = `"nextPageToken":"`
	s := strings.ReplaceAll(string(body), `"nextPageToken": "`, key)
	i := strings.Index(s, key)
	if i < 0 {
		return ""
	}
	rest := s[i+len(key):]
	return rest[:strings.IndexByte(rest, '"')]
}

// loadCatalog creates the bench org with 10 units of posts, then n powers with one
// published internal flow each, in all-or-nothing batches.
func loadCatalog(ctx context.Context, cat registryv1.CatalogServiceClient, n int) error {
	objs := []*registryv1.CatalogObject{{Object: &registryv1.CatalogObject_Org{Org: &registryv1.Org{Name: "orgs/" + benchOrg, DisplayName: "基准测试单位"}}}}
	ranks := []registryv1.Rank{registryv1.Rank_RANK_HANDLER, registryv1.Rank_RANK_RESPONSIBLE_OFFICER, registryv1.Rank_RANK_DEPUTY_DIRECTOR, registryv1.Rank_RANK_DIRECTOR}
	for u := range 10 {
		unit := fmt.Sprintf("orgs/%s/units/u%d", benchOrg, u)
		objs = append(objs, &registryv1.CatalogObject{Object: &registryv1.CatalogObject_Unit{Unit: &registryv1.Unit{
			Name: unit, DisplayName: fmt.Sprintf("第%d处", u), Kind: registryv1.UnitKind_UNIT_KIND_DIVISION}}})
		for k, rank := range ranks {
			objs = append(objs, &registryv1.CatalogObject{Object: &registryv1.CatalogObject_Post{Post: &registryv1.Post{
				Name: fmt.Sprintf("orgs/%s/posts/u%d-r%d", benchOrg, u, k), DisplayName: fmt.Sprintf("第%d处岗位%d", u, k), Unit: unit, Rank: rank}}})
		}
	}
	if _, err := cat.ApplyCatalog(ctx, &registryv1.ApplyCatalogRequest{Objects: objs}); err != nil {
		return err
	}
	const batch = 250
	for lo := 0; lo < n; lo += batch {
		objs = objs[:0]
		for i := lo; i < min(lo+batch, n); i++ {
			u := i % 10
			name := fmt.Sprintf("orgs/%s/powers/p%05d", benchOrg, i)
			objs = append(objs, &registryv1.CatalogObject{Publish: true, Object: &registryv1.CatalogObject_Power{Power: &registryv1.Power{
				Name: name, Code: fmt.Sprintf("BENCH-%05d", i), DisplayName: fmt.Sprintf("基准职权%05d", i),
				Category: registryv1.PowerCategory(1 + i%10), ActingUnit: fmt.Sprintf("orgs/%s/units/u%d", benchOrg, u), Public: i%2 == 0,
				Content:    strings.Repeat("依法履行职责，规范权力运行。", 8),
				LegalBasis: []*registryv1.LegalBasis{{Law: "中华人民共和国预算法", Article: "第五十三条", ClauseText: strings.Repeat("条文内容。", 10)}},
			}}})
			post := func(k int) *registryv1.FlowStep_Post {
				return &registryv1.FlowStep_Post{Post: fmt.Sprintf("orgs/%s/posts/u%d-r%d", benchOrg, u, k)}
			}
			objs = append(objs, &registryv1.CatalogObject{Publish: true, Object: &registryv1.CatalogObject_Flow{Flow: &registryv1.Flow{
				Name: name + "/flows/f", DisplayName: "内部流程", Kind: registryv1.FlowKind_FLOW_KIND_INTERNAL,
				Steps: []*registryv1.FlowStep{
					{Id: "jb", DisplayName: "经办", Actor: post(0), TimeLimitDays: 2, Separations: []string{"s"}, Materials: []string{"申请材料"}},
					{Id: "sh", DisplayName: "审核", Actor: post(1), TimeLimitDays: 1, Separations: []string{"s"}},
					{Id: "sp", DisplayName: "审批", Actor: post(2), TimeLimitDays: 1, Separations: []string{"s"}},
					{Id: "cz", DisplayName: "处长审批", Actor: post(3), TimeLimitDays: 1},
				},
				Transitions: []*registryv1.Transition{
					{From: "start", To: "jb"}, {From: "jb", To: "sh"}, {From: "sh", To: "sp"},
					{From: "sp", To: "cz", Condition: "amount >= 500000.0", Label: "50万元以上"}, {From: "sp", To: "end"}, {From: "cz", To: "end"},
				},
				Separations: []*registryv1.Separation{{Id: "s", DisplayName: "经办/审核/审批分离", Kind: registryv1.SeparationKind_SEPARATION_KIND_INCOMPATIBLE_DUTIES}},
			}}})
		}
		if _, err := cat.ApplyCatalog(ctx, &registryv1.ApplyCatalogRequest{Objects: objs}); err != nil {
			return fmt.Errorf("batch at %d: %w", lo, err)
		}
	}
	return nil
}

// startStack starts a fresh `fenquan up` stack in a temporary folder (the caller removes
// dir and stops s) and mints a platform-admin token that is catalog-admin of the bench org.
func startStack(ctx context.Context, subject, person string) (s *up.Stack, dir, token string, err error) {
	if dir, err = os.MkdirTemp("", "fenquan-bench-"); err != nil {
		return nil, "", "", err
	}
	if s, err = up.Start(ctx, up.Options{DataDir: dir}); err != nil {
		os.RemoveAll(dir)
		return nil, "", "", err
	}
	token, err = s.Dev.Mint(subject, auth.Claims{
		PlatformRoles: []string{"platform-admin"},
		Orgs:          map[string]auth.Grant{benchOrg: {Person: person, Roles: []string{"catalog-admin"}}},
	}, 2*time.Hour)
	if err != nil {
		s.Stop()
		os.RemoveAll(dir)
		return nil, "", "", err
	}
	return s, dir, token, nil
}
