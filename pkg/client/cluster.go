package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/shoalmesh/shoal/pkg/api"
)

// Cluster returns the gateway's cluster: its policy, machines and latest
// scaling decisions (GET /cluster).
func (c *Client) Cluster(ctx context.Context) (api.Cluster, error) {
	var out api.Cluster
	return out, c.do(ctx, http.MethodGet, "/cluster", nil, "", &out)
}

// SetClusterPolicy changes how the cluster scales (PUT /cluster/policy;
// an admin's call) and returns the cluster after the change.
func (c *Client) SetClusterPolicy(ctx context.Context, p api.ClusterPolicy) (api.Cluster, error) {
	var out api.Cluster
	body, err := json.Marshal(p)
	if err != nil {
		return out, fmt.Errorf("encode the policy: %w", err)
	}
	return out, c.do(ctx, http.MethodPut, "/cluster/policy", body, "application/json", &out)
}

// CleanUp gives back every machine of the cluster (POST
// /cluster/clean-up; an admin's call) and returns the cluster after it.
func (c *Client) CleanUp(ctx context.Context) (api.Cluster, error) {
	var out api.Cluster
	return out, c.do(ctx, http.MethodPost, "/cluster/clean-up", nil, "", &out)
}

// PutBundle deploys the files of tarball, a tar archive, under name (PUT
// /bundles/{name}); a task with bundle=name runs among them.
func (c *Client) PutBundle(ctx context.Context, name string, tarball []byte) (api.Bundle, error) {
	var out api.Bundle
	return out, c.do(ctx, http.MethodPut, "/bundles/"+url.PathEscape(name), tarball, "application/x-tar", &out)
}
