package ctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/registry/catalogfile"
)

// kind describes one resource kind for `get`.
type kind struct {
	list    func(ctx context.Context, c *registryClients, org, token string) ([]proto.Message, string, error)
	get     func(ctx context.Context, c *registryClients, name string) (proto.Message, error)
	wrap    func(proto.Message) *registryv1.CatalogObject
	header  string
	columns func(proto.Message) string
}

type registryClients struct {
	org registryv1.OrgServiceClient
	cat registryv1.CatalogServiceClient
}

func msgs[T proto.Message](items []T) []proto.Message {
	out := make([]proto.Message, len(items))
	for i, it := range items {
		out[i] = it
	}
	return out
}

func enumShort(s fmt.Stringer, prefix string) string { return strings.TrimPrefix(s.String(), prefix) }

var kinds = map[string]kind{
	"orgs": {
		list: func(ctx context.Context, c *registryClients, _, tok string) ([]proto.Message, string, error) {
			r, err := c.org.ListOrgs(ctx, &registryv1.ListOrgsRequest{PageSize: 500, PageToken: tok})
			return msgs(r.GetOrgs()), r.GetNextPageToken(), err
		},
		get: func(ctx context.Context, c *registryClients, n string) (proto.Message, error) {
			return c.org.GetOrg(ctx, &registryv1.GetOrgRequest{Name: n})
		},
		wrap: func(m proto.Message) *registryv1.CatalogObject {
			return &registryv1.CatalogObject{Object: &registryv1.CatalogObject_Org{Org: m.(*registryv1.Org)}}
		},
		header: "NAME\tDISPLAY NAME\tREGION",
		columns: func(m proto.Message) string {
			o := m.(*registryv1.Org)
			return o.Name + "\t" + o.DisplayName + "\t" + o.Region
		},
	},
	"units": {
		list: func(ctx context.Context, c *registryClients, org, tok string) ([]proto.Message, string, error) {
			r, err := c.org.ListUnits(ctx, &registryv1.ListUnitsRequest{Parent: "orgs/" + org, PageSize: 500, PageToken: tok})
			return msgs(r.GetUnits()), r.GetNextPageToken(), err
		},
		get: func(ctx context.Context, c *registryClients, n string) (proto.Message, error) {
			return c.org.GetUnit(ctx, &registryv1.GetUnitRequest{Name: n})
		},
		wrap: func(m proto.Message) *registryv1.CatalogObject {
			return &registryv1.CatalogObject{Object: &registryv1.CatalogObject_Unit{Unit: m.(*registryv1.Unit)}}
		},
		header: "NAME\tDISPLAY NAME\tKIND\tPARENT",
		columns: func(m proto.Message) string {
			u := m.(*registryv1.Unit)
			return u.Name + "\t" + u.DisplayName + "\t" + enumShort(u.Kind, "UNIT_KIND_") + "\t" + u.Parent
		},
	},
	"posts": {
		list: func(ctx context.Context, c *registryClients, org, tok string) ([]proto.Message, string, error) {
			r, err := c.org.ListPosts(ctx, &registryv1.ListPostsRequest{Parent: "orgs/" + org, PageSize: 500, PageToken: tok})
			return msgs(r.GetPosts()), r.GetNextPageToken(), err
		},
		get: func(ctx context.Context, c *registryClients, n string) (proto.Message, error) {
			return c.org.GetPost(ctx, &registryv1.GetPostRequest{Name: n})
		},
		wrap: func(m proto.Message) *registryv1.CatalogObject {
			return &registryv1.CatalogObject{Object: &registryv1.CatalogObject_Post{Post: m.(*registryv1.Post)}}
		},
		header: "NAME\tDISPLAY NAME\tRANK\tKEY\tUNIT",
		columns: func(m proto.Message) string {
			p := m.(*registryv1.Post)
			return fmt.Sprintf("%s\t%s\t%s\t%v\t%s", p.Name, p.DisplayName, enumShort(p.Rank, "RANK_"), p.KeyPost, p.Unit)
		},
	},
	"people": {
		list: func(ctx context.Context, c *registryClients, org, tok string) ([]proto.Message, string, error) {
			r, err := c.org.ListPeople(ctx, &registryv1.ListPeopleRequest{Parent: "orgs/" + org, PageSize: 500, PageToken: tok})
			return msgs(r.GetPeople()), r.GetNextPageToken(), err
		},
		get: func(ctx context.Context, c *registryClients, n string) (proto.Message, error) {
			return c.org.GetPerson(ctx, &registryv1.GetPersonRequest{Name: n})
		},
		wrap: func(m proto.Message) *registryv1.CatalogObject {
			return &registryv1.CatalogObject{Object: &registryv1.CatalogObject_Person{Person: m.(*registryv1.Person)}}
		},
		header: "NAME\tDISPLAY NAME\tUNIT",
		columns: func(m proto.Message) string {
			p := m.(*registryv1.Person)
			return p.Name + "\t" + p.DisplayName + "\t" + p.Unit
		},
	},
	"assignments": {
		list: func(ctx context.Context, c *registryClients, org, tok string) ([]proto.Message, string, error) {
			r, err := c.org.ListAssignments(ctx, &registryv1.ListAssignmentsRequest{Parent: "orgs/" + org, PageSize: 500, PageToken: tok})
			return msgs(r.GetAssignments()), r.GetNextPageToken(), err
		},
		get: func(ctx context.Context, c *registryClients, n string) (proto.Message, error) {
			return c.org.GetAssignment(ctx, &registryv1.GetAssignmentRequest{Name: n})
		},
		wrap: func(m proto.Message) *registryv1.CatalogObject {
			return &registryv1.CatalogObject{Object: &registryv1.CatalogObject_Assignment{Assignment: m.(*registryv1.Assignment)}}
		},
		header: "NAME\tPERSON\tPOST\tAB\tFROM\tUNTIL",
		columns: func(m proto.Message) string {
			a := m.(*registryv1.Assignment)
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s", a.Name, a.Person, a.Post, enumShort(a.AbRole, "AB_ROLE_"), a.StartDate, a.EndDate)
		},
	},
	"powers": {
		list: func(ctx context.Context, c *registryClients, org, tok string) ([]proto.Message, string, error) {
			r, err := c.cat.ListPowers(ctx, &registryv1.ListPowersRequest{Parent: "orgs/" + org, PageSize: 500, PageToken: tok})
			return msgs(r.GetPowers()), r.GetNextPageToken(), err
		},
		get: func(ctx context.Context, c *registryClients, n string) (proto.Message, error) {
			return c.cat.GetPower(ctx, &registryv1.GetPowerRequest{Name: n})
		},
		wrap: func(m proto.Message) *registryv1.CatalogObject {
			return &registryv1.CatalogObject{Object: &registryv1.CatalogObject_Power{Power: m.(*registryv1.Power)}}
		},
		header: "NAME\tCODE\tDISPLAY NAME\tCATEGORY\tSTATE\tREV",
		columns: func(m proto.Message) string {
			p := m.(*registryv1.Power)
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%d", p.Name, p.Code, p.DisplayName, enumShort(p.Category, "POWER_CATEGORY_"),
				enumShort(p.State, "PUBLICATION_STATE_"), p.PublishedRevision)
		},
	},
	"flows": {
		list: func(ctx context.Context, c *registryClients, org, tok string) ([]proto.Message, string, error) {
			r, err := c.cat.ListFlows(ctx, &registryv1.ListFlowsRequest{Parent: "orgs/" + org + "/powers/-", PageSize: 500, PageToken: tok})
			return msgs(r.GetFlows()), r.GetNextPageToken(), err
		},
		get: func(ctx context.Context, c *registryClients, n string) (proto.Message, error) {
			return c.cat.GetFlow(ctx, &registryv1.GetFlowRequest{Name: n})
		},
		wrap: func(m proto.Message) *registryv1.CatalogObject {
			return &registryv1.CatalogObject{Object: &registryv1.CatalogObject_Flow{Flow: m.(*registryv1.Flow)}}
		},
		header: "NAME\tDISPLAY NAME\tKIND\tSTEPS\tSTATE\tREV",
		columns: func(m proto.Message) string {
			f := m.(*registryv1.Flow)
			return fmt.Sprintf("%s\t%s\t%s\t%d\t%s\t%d", f.Name, f.DisplayName, enumShort(f.Kind, "FLOW_KIND_"), len(f.Steps),
				enumShort(f.State, "PUBLICATION_STATE_"), f.PublishedRevision)
		},
	},
}

func getCommand(o *options) *cobra.Command {
	var org, output string
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	cmd := &cobra.Command{
		Use:   "get KIND [NAME]",
		Short: "Read resources: " + strings.Join(names, ", "),
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, ok := kinds[args[0]]
			if !ok {
				return fmt.Errorf("unknown kind %q: one of %s", args[0], strings.Join(names, ", "))
			}
			conn, ctx, done, err := o.connect(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			items, err := fetch(ctx, conn, k, org, args[1:])
			if err != nil {
				return errors.New(explain(err))
			}
			return render(cmd.OutOrStdout(), k, items, output)
		},
	}
	cmd.Flags().StringVar(&org, "org", envOr("FENQUAN_ORG", "czj"), "org id (env FENQUAN_ORG)")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table, yaml (a catalogue file) or json")
	return cmd
}

func fetch(ctx context.Context, conn *grpc.ClientConn, k kind, org string, name []string) ([]proto.Message, error) {
	c := &registryClients{org: registryv1.NewOrgServiceClient(conn), cat: registryv1.NewCatalogServiceClient(conn)}
	if len(name) == 1 {
		m, err := k.get(ctx, c, name[0])
		if err != nil {
			return nil, err
		}
		return []proto.Message{m}, nil
	}
	var all []proto.Message
	tok := ""
	for {
		items, next, err := k.list(ctx, c, org, tok)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if next == "" {
			return all, nil
		}
		tok = next
	}
}

func render(w io.Writer, k kind, items []proto.Message, output string) error {
	switch output {
	case "table":
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, k.header)
		for _, m := range items {
			fmt.Fprintln(tw, k.columns(m))
		}
		return tw.Flush()
	case "yaml":
		objs := make([]*registryv1.CatalogObject, len(items))
		for i, m := range items {
			objs[i] = k.wrap(m)
		}
		b, err := catalogfile.Marshal(objs)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	case "json":
		for _, m := range items {
			b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(m)
			if err != nil {
				return err
			}
			fmt.Fprintln(w, string(b))
		}
		return nil
	}
	return fmt.Errorf("unknown output %q: table, yaml or json", output)
}

func diagramCommand(o *options) *cobra.Command {
	var (
		format, out string
		emergency   bool
		revision    int32
	)
	cmd := &cobra.Command{
		Use:   "diagram FLOW",
		Short: "Draw a flow (orgs/{org}/powers/{power}/flows/{flow}) as SVG or Mermaid",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			conn, ctx, done, err := o.connect(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			req := &registryv1.RenderFlowDiagramRequest{Name: args[0], RevisionId: revision, Format: registryv1.DiagramFormat_DIAGRAM_FORMAT_SVG}
			if format == "mermaid" {
				req.Format = registryv1.DiagramFormat_DIAGRAM_FORMAT_MERMAID
			}
			if emergency {
				req.Variant = registryv1.FlowVariant_FLOW_VARIANT_EMERGENCY
			}
			body, err := registryv1.NewCatalogServiceClient(conn).RenderFlowDiagram(ctx, req)
			if err != nil {
				return errors.New(explain(err))
			}
			if out == "" || out == "-" {
				_, err = cmd.OutOrStdout().Write(body.Data)
				return err
			}
			return os.WriteFile(out, body.Data, 0o644)
		},
	}
	cmd.Flags().StringVar(&format, "format", "svg", "svg or mermaid")
	cmd.Flags().BoolVar(&emergency, "emergency", false, "draw the emergency variant (绿色通道)")
	cmd.Flags().Int32Var(&revision, "revision", 0, "a published revision (default: the working copy)")
	cmd.Flags().StringVarP(&out, "out", "o", "", "file to write (default standard output)")
	return cmd
}
