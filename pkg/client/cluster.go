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

// AddMember adds the gateway with Raft address addr to the replicated
// group (POST /raft/members; an admin's call) and returns the group
// after.
func (c *Client) AddMember(ctx context.Context, addr string) (api.RaftInfo, error) {
	var out api.RaftInfo
	body, err := json.Marshal(api.RaftMember{Address: addr})
	if err != nil {
		return out, err
	}
	return out, c.do(ctx, http.MethodPost, "/raft/members", body, "application/json", &out)
}

// RemoveMember removes the member with Raft address addr from the
// replicated group (DELETE /raft/members/{address}; an admin's call).
func (c *Client) RemoveMember(ctx context.Context, addr string) (api.RaftInfo, error) {
	var out api.RaftInfo
	return out, c.do(ctx, http.MethodDelete, "/raft/members/"+url.PathEscape(addr), nil, "", &out)
}

// GroupJoinToken returns a replicated group's join token (GET
// /raft/join-token; an admin's call).
func (c *Client) GroupJoinToken(ctx context.Context) (string, error) {
	var out api.JoinToken
	return out.Token, c.do(ctx, http.MethodGet, "/raft/join-token", nil, "", &out)
}
