package registry_test

import (
	"fmt"
	"testing"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
)

// Paging while others write: every post that exists from the first page to the last is
// returned exactly once, in order, whatever is inserted or deleted around the cursor.
func TestPaginationStableUnderWrites(t *testing.T) {
	e := newEnv(t)
	e.mustOrg("cz")
	objs := []*registryv1.CatalogObject{unitObj("cz", "u", "处室", registryv1.UnitKind_UNIT_KIND_DIVISION, "")}
	for i := range 120 {
		objs = append(objs, postObj("cz", fmt.Sprintf("p%03d", i), fmt.Sprintf("岗位%03d", i), "u", registryv1.Rank_RANK_HANDLER))
	}
	e.apply(objs...)

	seen := map[string]int{}
	var order []string
	token := ""
	for pageNo := 0; ; pageNo++ {
		resp, err := e.org.ListPosts(e.staff(), &registryv1.ListPostsRequest{Parent: "orgs/cz", PageSize: 25, PageToken: token})
		if err != nil {
			t.Fatal(describe(err))
		}
		for _, p := range resp.Posts {
			seen[p.Name]++
			order = append(order, p.Name)
		}
		// Between pages: insert behind and ahead of the cursor, and delete what the
		// previous round inserted behind it.
		e.apply(
			postObj("cz", fmt.Sprintf("p%03da", pageNo*25), "插入(前)", "u", registryv1.Rank_RANK_HANDLER),
			postObj("cz", fmt.Sprintf("p%03da", 119-pageNo), "插入(后)", "u", registryv1.Rank_RANK_HANDLER),
		)
		if pageNo > 0 {
			if _, err := e.org.DeletePost(e.admin(), &registryv1.DeletePostRequest{Name: fmt.Sprintf("orgs/cz/posts/p%03da", (pageNo-1)*25)}); err != nil {
				t.Fatal(describe(err))
			}
		}
		if resp.NextPageToken == "" {
			break
		}
		token = resp.NextPageToken
	}
	for i := range 120 {
		if n := seen[fmt.Sprintf("orgs/cz/posts/p%03d", i)]; n != 1 {
			t.Fatalf("p%03d returned %d times", i, n)
		}
	}
	for i := 1; i < len(order); i++ {
		if order[i] <= order[i-1] {
			t.Fatalf("out of order: %s after %s", order[i], order[i-1])
		}
	}
	// A token is bound to its query.
	resp, _ := e.org.ListPosts(e.staff(), &registryv1.ListPostsRequest{Parent: "orgs/cz", PageSize: 5})
	_, err := e.org.ListPosts(e.staff(), &registryv1.ListPostsRequest{Parent: "orgs/cz", PageSize: 5, PageToken: resp.NextPageToken, KeyPostsOnly: true})
	wantViolation(t, err, "page_token")
}
