package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/events"
)

// Resource types of connections and API destinations.
const (
	ConnectionType     = "AWS::Events::Connection"
	ApiDestinationType = "AWS::Events::ApiDestination"
)

// secretsBucket keeps connections' secrets (API key value, password, client secret) out
// of their recorded configuration, as EventBridge keeps them in Secrets Manager.
const secretsBucket = "bus.secrets"

// Authorization types.
const (
	AuthAPIKey = "API_KEY"
	AuthBasic  = "BASIC"
	AuthOAuth  = "OAUTH_CLIENT_CREDENTIALS"
)

// connection is a connection's stored configuration (no secrets).
type connection struct {
	Name              string                                   `json:"Name"`
	Arn               string                                   `json:"Arn"`
	Description       string                                   `json:"Description,omitempty"`
	AuthorizationType string                                   `json:"AuthorizationType"`
	AuthParameters    *events.ConnectionAuthResponseParameters `json:"AuthParameters,omitempty"`
	State             string                                   `json:"State"`
	SecretArn         string                                   `json:"SecretArn"`
	Created           time.Time                                `json:"Created"`
	Modified          time.Time                                `json:"Modified"`
	Authorized        time.Time                                `json:"Authorized"`
}

// secret is a connection's secret part.
type secret struct {
	APIKeyValue  string `json:"apiKeyValue,omitempty"`
	Password     string `json:"password,omitempty"`
	ClientSecret string `json:"clientSecret,omitempty"`
	// Secret header, query and body parameter values, by "header:", "query:", "body:" + key.
	Values map[string]string `json:"values,omitempty"`
	// Version is new with every secret stored; OAuth access tokens are cached by
	// connection ARN and Version, so a token fetched with credentials that have since
	// been replaced (or deleted) is never used.
	Version string `json:"version,omitempty"`
}

// apiDestination is an API destination's stored configuration.
type apiDestination struct {
	Name               string    `json:"Name"`
	Arn                string    `json:"Arn"`
	Description        string    `json:"Description,omitempty"`
	ConnectionArn      string    `json:"ConnectionArn"`
	InvocationEndpoint string    `json:"InvocationEndpoint"`
	HttpMethod         string    `json:"HttpMethod"`
	RateLimit          int32     `json:"InvocationRateLimitPerSecond"`
	State              string    `json:"State"`
	Created            time.Time `json:"Created"`
	Modified           time.Time `json:"Modified"`
}

var (
	connectionARN = regexp.MustCompile(`^arn:aws[a-z-]*:events:([a-z0-9-]+):(\d{12}):connection/([^/]+)(/.*)?$`)
	endpointURL   = regexp.MustCompile(`^https?://[^\s]+$`)
)

func notFound(kind, name string) error {
	return errf("ResourceNotFoundException", "Failed to describe the %s(s). %s '%s' does not exist.", kind, kind, name)
}

func getConnection(ctx context.Context, tx store.ReadTx, account, region, name string) (*connection, error) {
	r, err := tx.GetResource(ctx, account, region, ConnectionType, name)
	if err != nil || r == nil {
		return nil, err
	}
	var c connection
	if err := json.Unmarshal(r.Config, &c); err != nil {
		return nil, fmt.Errorf("bus: decode connection %s: %w", name, err)
	}
	return &c, nil
}

func saveConnection(ctx context.Context, c *call.Call, conn *connection, sec *secret) error {
	raw, err := json.Marshal(conn)
	if err == nil {
		raw, err = compact(raw)
	}
	if err != nil {
		return fmt.Errorf("bus: encode connection: %w", err)
	}
	c.Touch(ConnectionType, conn.Name, conn.Arn)
	tx := c.Write()
	if sec != nil {
		sec.Version = newID()
		sraw, _ := json.Marshal(sec)
		if err := tx.Put(ctx, secretsBucket, conn.Arn, sraw); err != nil {
			return fmt.Errorf("bus: store connection secret: %w", err)
		}
	}
	return tx.PutResource(ctx, &store.Resource{Account: c.Account, Region: c.Region, Type: ConnectionType,
		ID: conn.Name, ARN: conn.Arn, Name: conn.Name, Config: raw})
}

// httpParams splits connection HTTP parameters into what is shown and the secret values.
func httpParams(p *events.ConnectionHttpParameters, sec *secret) *events.ConnectionHttpParameters {
	if p == nil {
		return nil
	}
	out := &events.ConnectionHttpParameters{}
	hide := func(kind string, k, v *string, secret *bool) *string {
		if aws.ToBool(secret) {
			if sec.Values == nil {
				sec.Values = map[string]string{}
			}
			sec.Values[kind+aws.ToString(k)] = aws.ToString(v)
			return nil
		}
		return v
	}
	for _, h := range p.HeaderParameters {
		out.HeaderParameters = append(out.HeaderParameters, events.ConnectionHeaderParameter{Key: h.Key, IsValueSecret: h.IsValueSecret, Value: hide("header:", h.Key, h.Value, h.IsValueSecret)})
	}
	for _, q := range p.QueryStringParameters {
		out.QueryStringParameters = append(out.QueryStringParameters, events.ConnectionQueryStringParameter{Key: q.Key, IsValueSecret: q.IsValueSecret, Value: hide("query:", q.Key, q.Value, q.IsValueSecret)})
	}
	for _, b := range p.BodyParameters {
		out.BodyParameters = append(out.BodyParameters, events.ConnectionBodyParameter{Key: b.Key, IsValueSecret: b.IsValueSecret, Value: hide("body:", b.Key, b.Value, b.IsValueSecret)})
	}
	return out
}

// authFrom checks auth parameters for an authorization type and splits them.
func authFrom(typ string, a *events.CreateConnectionAuthRequestParameters) (*events.ConnectionAuthResponseParameters, *secret, error) {
	if a == nil {
		return nil, nil, errf("ValidationException", "AuthParameters is required.")
	}
	sec := &secret{}
	out := &events.ConnectionAuthResponseParameters{}
	switch typ {
	case AuthAPIKey:
		p := a.ApiKeyAuthParameters
		if p == nil || aws.ToString(p.ApiKeyName) == "" || aws.ToString(p.ApiKeyValue) == "" {
			return nil, nil, errf("ValidationException", "ApiKeyAuthParameters are required for authorization type API_KEY.")
		}
		out.ApiKeyAuthParameters = &events.ConnectionApiKeyAuthResponseParameters{ApiKeyName: p.ApiKeyName}
		sec.APIKeyValue = aws.ToString(p.ApiKeyValue)
	case AuthBasic:
		p := a.BasicAuthParameters
		if p == nil || aws.ToString(p.Username) == "" || aws.ToString(p.Password) == "" {
			return nil, nil, errf("ValidationException", "BasicAuthParameters are required for authorization type BASIC.")
		}
		out.BasicAuthParameters = &events.ConnectionBasicAuthResponseParameters{Username: p.Username}
		sec.Password = aws.ToString(p.Password)
	case AuthOAuth:
		p := a.OAuthParameters
		if p == nil || p.ClientParameters == nil || aws.ToString(p.AuthorizationEndpoint) == "" || aws.ToString(p.HttpMethod) == "" {
			return nil, nil, errf("ValidationException", "OAuthParameters with ClientParameters, AuthorizationEndpoint and HttpMethod are required for authorization type OAUTH_CLIENT_CREDENTIALS.")
		}
		out.OAuthParameters = &events.ConnectionOAuthResponseParameters{AuthorizationEndpoint: p.AuthorizationEndpoint,
			HttpMethod: p.HttpMethod, ClientParameters: &events.ConnectionOAuthClientResponseParameters{ClientID: p.ClientParameters.ClientID},
			OAuthHttpParameters: httpParams(p.OAuthHttpParameters, sec)}
		sec.ClientSecret = aws.ToString(p.ClientParameters.ClientSecret)
	default:
		return nil, nil, errf("ValidationException", "AuthorizationType %s is not valid.", typ)
	}
	out.InvocationHttpParameters = httpParams(a.InvocationHttpParameters, sec)
	return out, sec, nil
}

// CreateConnection creates a connection: the authorization API destinations use.
func (s *Service) CreateConnection(ctx context.Context, in *events.CreateConnectionRequest) (*events.CreateConnectionResponse, error) {
	c := call.From(ctx)
	name := aws.ToString(in.Name)
	if !ruleNameChars.MatchString(name) {
		return nil, badPattern("name", name, `[\.\-_A-Za-z0-9]+`)
	}
	if old, err := getConnection(ctx, c.Tx, c.Account, c.Region, name); err != nil || old != nil {
		if err == nil {
			err = errf("ResourceAlreadyExistsException", "Connection %s already exists.", name)
		}
		return nil, err
	}
	auth, sec, err := authFrom(aws.ToString(in.AuthorizationType), in.AuthParameters)
	if err != nil {
		return nil, err
	}
	id := newID()
	conn := &connection{Name: name, Arn: fmt.Sprintf("arn:aws:events:%s:%s:connection/%s/%s", c.Region, c.Account, name, id),
		Description: aws.ToString(in.Description), AuthorizationType: aws.ToString(in.AuthorizationType), AuthParameters: auth,
		State: "AUTHORIZED", SecretArn: fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:events!connection/%s/%s", c.Region, c.Account, name, id),
		Created: c.Time, Modified: c.Time, Authorized: c.Time}
	if err := saveConnection(ctx, c, conn, sec); err != nil {
		return nil, err
	}
	return &events.CreateConnectionResponse{ConnectionArn: aws.String(conn.Arn), ConnectionState: aws.String(conn.State),
		CreationTime: aws.Time(conn.Created), LastModifiedTime: aws.Time(conn.Modified)}, nil
}

func mustConnection(ctx context.Context, c *call.Call, name string) (*connection, error) {
	conn, err := getConnection(ctx, c.Tx, c.Account, c.Region, name)
	if err == nil && conn == nil {
		err = notFound("connection", name)
	}
	return conn, err
}

// DescribeConnection describes a connection, without its secrets.
func (s *Service) DescribeConnection(ctx context.Context, in *events.DescribeConnectionRequest) (*events.DescribeConnectionResponse, error) {
	c := call.From(ctx)
	conn, err := mustConnection(ctx, c, aws.ToString(in.Name))
	if err != nil {
		return nil, err
	}
	return &events.DescribeConnectionResponse{ConnectionArn: aws.String(conn.Arn), Name: aws.String(conn.Name),
		Description: opt(conn.Description), ConnectionState: aws.String(conn.State), AuthorizationType: aws.String(conn.AuthorizationType),
		SecretArn: aws.String(conn.SecretArn), AuthParameters: conn.AuthParameters, CreationTime: aws.Time(conn.Created),
		LastModifiedTime: aws.Time(conn.Modified), LastAuthorizedTime: aws.Time(conn.Authorized)}, nil
}

// UpdateConnection changes a connection's description, authorization type or parameters.
func (s *Service) UpdateConnection(ctx context.Context, in *events.UpdateConnectionRequest) (*events.UpdateConnectionResponse, error) {
	c := call.From(ctx)
	conn, err := mustConnection(ctx, c, aws.ToString(in.Name))
	if err != nil {
		return nil, err
	}
	if in.Description != nil {
		conn.Description = *in.Description
	}
	var sec *secret
	if in.AuthParameters != nil || in.AuthorizationType != nil {
		typ := conn.AuthorizationType
		if in.AuthorizationType != nil {
			typ = *in.AuthorizationType
		}
		var a events.CreateConnectionAuthRequestParameters
		if p := in.AuthParameters; p != nil {
			a.InvocationHttpParameters = p.InvocationHttpParameters
			if p.ApiKeyAuthParameters != nil {
				a.ApiKeyAuthParameters = &events.CreateConnectionApiKeyAuthRequestParameters{ApiKeyName: p.ApiKeyAuthParameters.ApiKeyName, ApiKeyValue: p.ApiKeyAuthParameters.ApiKeyValue}
			}
			if p.BasicAuthParameters != nil {
				a.BasicAuthParameters = &events.CreateConnectionBasicAuthRequestParameters{Username: p.BasicAuthParameters.Username, Password: p.BasicAuthParameters.Password}
			}
			if p.OAuthParameters != nil {
				o := p.OAuthParameters
				a.OAuthParameters = &events.CreateConnectionOAuthRequestParameters{AuthorizationEndpoint: o.AuthorizationEndpoint, HttpMethod: o.HttpMethod, OAuthHttpParameters: o.OAuthHttpParameters}
				if o.ClientParameters != nil {
					a.OAuthParameters.ClientParameters = &events.CreateConnectionOAuthClientRequestParameters{ClientID: o.ClientParameters.ClientID, ClientSecret: o.ClientParameters.ClientSecret}
				}
			}
		}
		auth, sc, err := authFrom(typ, &a)
		if err != nil {
			return nil, err
		}
		conn.AuthorizationType, conn.AuthParameters, sec = typ, auth, sc
		conn.Authorized, conn.State = c.Time, "AUTHORIZED"
	}
	conn.Modified = c.Time
	if err := saveConnection(ctx, c, conn, sec); err != nil {
		return nil, err
	}
	return &events.UpdateConnectionResponse{ConnectionArn: aws.String(conn.Arn), ConnectionState: aws.String(conn.State),
		CreationTime: aws.Time(conn.Created), LastModifiedTime: aws.Time(conn.Modified), LastAuthorizedTime: aws.Time(conn.Authorized)}, nil
}

// DeauthorizeConnection removes a connection's authorization parameters and its secret,
// so that it can be authorized again (UpdateConnection with new parameters) without
// creating a new one. Calls through it fail (and are retried) until then.
func (s *Service) DeauthorizeConnection(ctx context.Context, in *events.DeauthorizeConnectionRequest) (*events.DeauthorizeConnectionResponse, error) {
	c := call.From(ctx)
	conn, err := mustConnection(ctx, c, aws.ToString(in.Name))
	if err != nil {
		return nil, err
	}
	conn.State, conn.AuthParameters, conn.Modified = "DEAUTHORIZED", nil, c.Time
	if err := c.Write().Delete(ctx, secretsBucket, conn.Arn); err != nil {
		return nil, fmt.Errorf("bus: delete connection secret: %w", err)
	}
	if err := saveConnection(ctx, c, conn, nil); err != nil {
		return nil, err
	}
	return &events.DeauthorizeConnectionResponse{ConnectionArn: aws.String(conn.Arn), ConnectionState: aws.String("DEAUTHORIZING"),
		CreationTime: aws.Time(conn.Created), LastModifiedTime: aws.Time(conn.Modified), LastAuthorizedTime: aws.Time(conn.Authorized)}, nil
}

// DeleteConnection deletes a connection and its secret.
func (s *Service) DeleteConnection(ctx context.Context, in *events.DeleteConnectionRequest) (*events.DeleteConnectionResponse, error) {
	c := call.From(ctx)
	conn, err := mustConnection(ctx, c, aws.ToString(in.Name))
	if err != nil {
		return nil, err
	}
	c.Touch(ConnectionType, conn.Name, conn.Arn)
	if err := c.Write().DeleteResource(ctx, c.Account, c.Region, ConnectionType, conn.Name); err != nil {
		return nil, fmt.Errorf("bus: delete connection %s: %w", conn.Name, err)
	}
	if err := c.Write().Delete(ctx, secretsBucket, conn.Arn); err != nil {
		return nil, fmt.Errorf("bus: delete connection secret: %w", err)
	}
	return &events.DeleteConnectionResponse{ConnectionArn: aws.String(conn.Arn), ConnectionState: aws.String("DELETING"),
		CreationTime: aws.Time(conn.Created), LastModifiedTime: aws.Time(c.Time), LastAuthorizedTime: aws.Time(conn.Authorized)}, nil
}

// listAll returns every resource of a type in the call's account and region.
func listAll(ctx context.Context, c *call.Call, typ string) ([]*store.Resource, error) {
	var out []*store.Resource
	after := ""
	for {
		rs, next, err := c.Tx.ListResources(ctx, store.ResourceQuery{Account: c.Account, Region: c.Region, Type: typ, After: after, Limit: 1000})
		if err != nil {
			return nil, fmt.Errorf("bus: list %s: %w", typ, err)
		}
		out = append(out, rs...)
		if next == "" {
			return out, nil
		}
		after = next
	}
}

// ListConnections lists connections by name.
func (s *Service) ListConnections(ctx context.Context, in *events.ListConnectionsRequest) (*events.ListConnectionsResponse, error) {
	c := call.From(ctx)
	rs, err := listAll(ctx, c, ConnectionType)
	if err != nil {
		return nil, err
	}
	byName := map[string]*connection{}
	var names []string
	for _, r := range rs {
		var conn connection
		if err := json.Unmarshal(r.Config, &conn); err != nil {
			return nil, fmt.Errorf("bus: decode connection %s: %w", r.ID, err)
		}
		if !strings.HasPrefix(conn.Name, aws.ToString(in.NamePrefix)) || (in.ConnectionState != nil && *in.ConnectionState != conn.State) {
			continue
		}
		byName[conn.Name] = &conn
		names = append(names, conn.Name)
	}
	sort.Strings(names)
	page, next, err := paginate(names, in.NextToken, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &events.ListConnectionsResponse{Connections: []events.Connection{}, NextToken: next}
	for _, n := range page {
		conn := byName[n]
		out.Connections = append(out.Connections, events.Connection{ConnectionArn: aws.String(conn.Arn), Name: aws.String(conn.Name),
			ConnectionState: aws.String(conn.State), AuthorizationType: aws.String(conn.AuthorizationType),
			CreationTime: aws.Time(conn.Created), LastModifiedTime: aws.Time(conn.Modified), LastAuthorizedTime: aws.Time(conn.Authorized)})
	}
	return out, nil
}

func getDestination(ctx context.Context, tx store.ReadTx, account, region, name string) (*apiDestination, error) {
	r, err := tx.GetResource(ctx, account, region, ApiDestinationType, name)
	if err != nil || r == nil {
		return nil, err
	}
	var d apiDestination
	if err := json.Unmarshal(r.Config, &d); err != nil {
		return nil, fmt.Errorf("bus: decode api destination %s: %w", name, err)
	}
	return &d, nil
}

func saveDestination(ctx context.Context, c *call.Call, d *apiDestination) error {
	raw, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("bus: encode api destination: %w", err)
	}
	c.Touch(ApiDestinationType, d.Name, d.Arn)
	return c.Write().PutResource(ctx, &store.Resource{Account: c.Account, Region: c.Region, Type: ApiDestinationType,
		ID: d.Name, ARN: d.Arn, Name: d.Name, Config: raw})
}

// checkDestination checks an API destination's connection and endpoint. Plain http
// endpoints are accepted (EventBridge takes only https) so that local services can be
// reached.
func checkDestination(ctx context.Context, c *call.Call, d *apiDestination) error {
	m := connectionARN.FindStringSubmatch(d.ConnectionArn)
	if m == nil || m[1] != c.Region || m[2] != c.Account {
		return errf("ResourceNotFoundException", "Connection '%s' does not exist.", d.ConnectionArn)
	}
	conn, err := getConnection(ctx, c.Tx, c.Account, c.Region, m[3])
	if err != nil {
		return err
	}
	if conn == nil || conn.Arn != d.ConnectionArn {
		return errf("ResourceNotFoundException", "Connection '%s' does not exist.", d.ConnectionArn)
	}
	if !endpointURL.MatchString(d.InvocationEndpoint) {
		return errf("ValidationException", "InvocationEndpoint %s is not a valid URL.", d.InvocationEndpoint)
	}
	switch d.HttpMethod {
	case "POST", "GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE":
	default:
		return errf("ValidationException", "HttpMethod %s is not valid.", d.HttpMethod)
	}
	return nil
}

// CreateApiDestination creates an API destination: an HTTP endpoint rules can target.
func (s *Service) CreateApiDestination(ctx context.Context, in *events.CreateApiDestinationRequest) (*events.CreateApiDestinationResponse, error) {
	c := call.From(ctx)
	name := aws.ToString(in.Name)
	if !ruleNameChars.MatchString(name) {
		return nil, badPattern("name", name, `[\.\-_A-Za-z0-9]+`)
	}
	if old, err := getDestination(ctx, c.Tx, c.Account, c.Region, name); err != nil || old != nil {
		if err == nil {
			err = errf("ResourceAlreadyExistsException", "An api-destination '%s' already exists.", name)
		}
		return nil, err
	}
	d := &apiDestination{Name: name, Arn: fmt.Sprintf("arn:aws:events:%s:%s:api-destination/%s/%s", c.Region, c.Account, name, newID()),
		Description: aws.ToString(in.Description), ConnectionArn: aws.ToString(in.ConnectionArn),
		InvocationEndpoint: aws.ToString(in.InvocationEndpoint), HttpMethod: aws.ToString(in.HttpMethod),
		RateLimit: aws.ToInt32(in.InvocationRateLimitPerSecond), State: "ACTIVE", Created: c.Time, Modified: c.Time}
	if d.RateLimit == 0 {
		d.RateLimit = 300
	}
	if err := checkDestination(ctx, c, d); err != nil {
		return nil, err
	}
	if err := saveDestination(ctx, c, d); err != nil {
		return nil, err
	}
	return &events.CreateApiDestinationResponse{ApiDestinationArn: aws.String(d.Arn), ApiDestinationState: aws.String(d.State),
		CreationTime: aws.Time(d.Created), LastModifiedTime: aws.Time(d.Modified)}, nil
}

func mustDestination(ctx context.Context, c *call.Call, name string) (*apiDestination, error) {
	d, err := getDestination(ctx, c.Tx, c.Account, c.Region, name)
	if err == nil && d == nil {
		err = errf("ResourceNotFoundException", "Failed to describe the api-destination(s). An api-destination '%s' does not exist.", name)
	}
	return d, err
}

// DescribeApiDestination describes an API destination.
func (s *Service) DescribeApiDestination(ctx context.Context, in *events.DescribeApiDestinationRequest) (*events.DescribeApiDestinationResponse, error) {
	d, err := mustDestination(ctx, call.From(ctx), aws.ToString(in.Name))
	if err != nil {
		return nil, err
	}
	return &events.DescribeApiDestinationResponse{ApiDestinationArn: aws.String(d.Arn), Name: aws.String(d.Name),
		Description: opt(d.Description), ApiDestinationState: aws.String(d.State), ConnectionArn: aws.String(d.ConnectionArn),
		InvocationEndpoint: aws.String(d.InvocationEndpoint), HttpMethod: aws.String(d.HttpMethod),
		InvocationRateLimitPerSecond: aws.Int32(d.RateLimit), CreationTime: aws.Time(d.Created), LastModifiedTime: aws.Time(d.Modified)}, nil
}

// UpdateApiDestination changes an API destination.
func (s *Service) UpdateApiDestination(ctx context.Context, in *events.UpdateApiDestinationRequest) (*events.UpdateApiDestinationResponse, error) {
	c := call.From(ctx)
	d, err := mustDestination(ctx, c, aws.ToString(in.Name))
	if err != nil {
		return nil, err
	}
	if in.Description != nil {
		d.Description = *in.Description
	}
	if in.ConnectionArn != nil {
		d.ConnectionArn = *in.ConnectionArn
	}
	if in.InvocationEndpoint != nil {
		d.InvocationEndpoint = *in.InvocationEndpoint
	}
	if in.HttpMethod != nil {
		d.HttpMethod = *in.HttpMethod
	}
	if in.InvocationRateLimitPerSecond != nil {
		d.RateLimit = *in.InvocationRateLimitPerSecond
	}
	if err := checkDestination(ctx, c, d); err != nil {
		return nil, err
	}
	d.Modified = c.Time
	if err := saveDestination(ctx, c, d); err != nil {
		return nil, err
	}
	return &events.UpdateApiDestinationResponse{ApiDestinationArn: aws.String(d.Arn), ApiDestinationState: aws.String(d.State),
		CreationTime: aws.Time(d.Created), LastModifiedTime: aws.Time(d.Modified)}, nil
}

// DeleteApiDestination deletes an API destination.
func (s *Service) DeleteApiDestination(ctx context.Context, in *events.DeleteApiDestinationRequest) (*events.DeleteApiDestinationResponse, error) {
	c := call.From(ctx)
	d, err := mustDestination(ctx, c, aws.ToString(in.Name))
	if err != nil {
		return nil, err
	}
	c.Touch(ApiDestinationType, d.Name, d.Arn)
	if err := c.Write().DeleteResource(ctx, c.Account, c.Region, ApiDestinationType, d.Name); err != nil {
		return nil, fmt.Errorf("bus: delete api destination %s: %w", d.Name, err)
	}
	return &events.DeleteApiDestinationResponse{}, nil
}

// ListApiDestinations lists API destinations by name.
func (s *Service) ListApiDestinations(ctx context.Context, in *events.ListApiDestinationsRequest) (*events.ListApiDestinationsResponse, error) {
	c := call.From(ctx)
	rs, err := listAll(ctx, c, ApiDestinationType)
	if err != nil {
		return nil, err
	}
	byName := map[string]*apiDestination{}
	var names []string
	for _, r := range rs {
		var d apiDestination
		if err := json.Unmarshal(r.Config, &d); err != nil {
			return nil, fmt.Errorf("bus: decode api destination %s: %w", r.ID, err)
		}
		if !strings.HasPrefix(d.Name, aws.ToString(in.NamePrefix)) || (in.ConnectionArn != nil && *in.ConnectionArn != d.ConnectionArn) {
			continue
		}
		byName[d.Name] = &d
		names = append(names, d.Name)
	}
	sort.Strings(names)
	page, next, err := paginate(names, in.NextToken, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &events.ListApiDestinationsResponse{ApiDestinations: []events.ApiDestination{}, NextToken: next}
	for _, n := range page {
		d := byName[n]
		out.ApiDestinations = append(out.ApiDestinations, events.ApiDestination{ApiDestinationArn: aws.String(d.Arn), Name: aws.String(d.Name),
			ApiDestinationState: aws.String(d.State), ConnectionArn: aws.String(d.ConnectionArn), InvocationEndpoint: aws.String(d.InvocationEndpoint),
			HttpMethod: aws.String(d.HttpMethod), InvocationRateLimitPerSecond: aws.Int32(d.RateLimit),
			CreationTime: aws.Time(d.Created), LastModifiedTime: aws.Time(d.Modified)})
	}
	return out, nil
}

// oauthToken is an access token obtained with a connection's client credentials.
type oauthToken struct {
	value   string
	expires time.Time
}

// tokenKey is the key of Service.tokens: a connection's ARN and the version of the
// secret a token was fetched with. Nothing clears the cache when a connection's secret
// changes or goes (the change may not commit, and a fetch may be under way with the old
// one); the new secret's version just does not find the old token.
func tokenKey(connArn, version string) string { return connArn + "|" + version }

// cacheToken keeps a connection's token, dropping the tokens that have expired.
func (s *Service) cacheToken(key string, t oauthToken, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, old := range s.tokens {
		if !now.Before(old.expires) {
			delete(s.tokens, k)
		}
	}
	s.tokens[key] = t
}

// callDestination sends a queued delivery (pendingBucket key pending) to its API
// destination, waiting for the destination's turn under its rate limit; the call may
// take destinationTimeout. 401, 407, 409, 429 and 5xx answers (and transport failures
// and timeouts) are retried, as EventBridge retries them; other answers that are not 2xx
// are not. Once delivered (or found delivered already), the queued entry is removed.
func (s *Service) callDestination(ctx context.Context, d *delivery, pending string) error {
	m := apiDestARN.FindStringSubmatch(aws.ToString(d.Target.Arn))
	if m == nil {
		return permanent("bus: target %s is not an api destination", aws.ToString(d.Target.Arn))
	}
	account, region, name := m[2], m[1], m[3]
	body, err := targetInput(d)
	if err != nil {
		return permanent("bus: target input: %w", err)
	}
	key := d.key()
	var dest *apiDestination
	var conn *connection
	var sec secret
	done := false
	err = s.opts.Store.View(ctx, func(tx store.ReadTx) error {
		v, err := tx.Get(ctx, deliveredBucket, key)
		if err != nil || v != nil {
			done = v != nil
			return err
		}
		if dest, err = getDestination(ctx, tx, account, region, name); err != nil || dest == nil {
			return err
		}
		m := connectionARN.FindStringSubmatch(dest.ConnectionArn)
		if m == nil {
			return nil
		}
		if conn, err = getConnection(ctx, tx, m[2], m[1], m[3]); err != nil || conn == nil {
			return err
		}
		raw, err := tx.Get(ctx, secretsBucket, conn.Arn)
		if err == nil && raw != nil {
			err = json.Unmarshal(raw, &sec)
		}
		return err
	})
	if err != nil {
		return err
	}
	if done {
		return s.opts.Store.Update(ctx, func(tx store.Tx) error { return tx.Delete(ctx, pendingBucket, pending) })
	}
	if dest == nil || conn == nil {
		return fmt.Errorf("bus: api destination %s or its connection does not exist", name)
	}
	if conn.State != "AUTHORIZED" || conn.AuthParameters == nil {
		return fmt.Errorf("bus: connection %s of api destination %s is %s", conn.Name, name, conn.State)
	}
	if err := s.rate.wait(ctx, dest.Arn, dest.RateLimit); err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, destinationTimeout)
	defer cancel()
	req, err := s.destinationRequest(cctx, d, dest, conn, &sec, body)
	if err != nil {
		return err
	}
	resp, err := s.opts.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("bus: call api destination %s: %w", dest.Arn, redactErr(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	cancel()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
	case code == 401 || code == 407 || code == 409 || code == 429 || code >= 500:
		if code == 401 {
			s.mu.Lock()
			delete(s.tokens, tokenKey(conn.Arn, sec.Version))
			s.mu.Unlock()
		}
		return fmt.Errorf("bus: api destination %s answered %s", dest.Arn, resp.Status)
	default:
		return permanent("bus: api destination %s answered %s", dest.Arn, resp.Status)
	}
	return s.opts.Store.Update(ctx, func(tx store.Tx) error {
		if err := tx.Delete(ctx, pendingBucket, pending); err != nil {
			return err
		}
		return markDelivered(ctx, tx, key, "", s.opts.Clock())
	})
}

// destinationRequest builds the HTTP request of an API destination call: the endpoint
// with its * path parameters filled from HttpParameters, the connection's and the
// target's headers and query parameters (values may be JSON paths into the event), the
// connection's authorization, and the input as body.
func (s *Service) destinationRequest(ctx context.Context, d *delivery, dest *apiDestination, conn *connection, sec *secret, body string) (*http.Request, error) {
	value := func(v string) string {
		if strings.HasPrefix(v, "$.") {
			raw, err := jsonPath(d.Event, v)
			if err != nil || raw == nil {
				return ""
			}
			var str string
			if json.Unmarshal(raw, &str) == nil {
				return str
			}
			return string(raw)
		}
		return v
	}
	endpoint := dest.InvocationEndpoint
	hp := d.Target.HttpParameters
	if hp != nil {
		for _, p := range hp.PathParameterValues {
			endpoint = strings.Replace(endpoint, "*", url.PathEscape(value(p)), 1)
		}
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, permanent("bus: api destination %s endpoint: %w", dest.Arn, redactErr(err))
	}
	q := u.Query()
	headers := http.Header{}
	var bodyParams map[string]string
	if p := conn.AuthParameters; p != nil && p.InvocationHttpParameters != nil {
		ip := p.InvocationHttpParameters
		for _, h := range ip.HeaderParameters {
			headers.Set(aws.ToString(h.Key), secretOr(sec, "header:", h.Key, h.Value))
		}
		for _, x := range ip.QueryStringParameters {
			q.Set(aws.ToString(x.Key), secretOr(sec, "query:", x.Key, x.Value))
		}
		for _, b := range ip.BodyParameters {
			if bodyParams == nil {
				bodyParams = map[string]string{}
			}
			bodyParams[aws.ToString(b.Key)] = secretOr(sec, "body:", b.Key, b.Value)
		}
	}
	if hp != nil {
		for k, v := range hp.HeaderParameters {
			headers.Set(k, value(v))
		}
		for k, v := range hp.QueryStringParameters {
			q.Set(k, value(v))
		}
	}
	u.RawQuery = q.Encode()
	if len(bodyParams) > 0 {
		var obj map[string]json.RawMessage
		if json.Unmarshal([]byte(body), &obj) == nil {
			for k, v := range bodyParams {
				obj[k], _ = json.Marshal(v)
			}
			b, _ := json.Marshal(obj)
			body = string(b)
		}
	}
	var rd io.Reader
	if dest.HttpMethod != "GET" && dest.HttpMethod != "HEAD" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, dest.HttpMethod, u.String(), rd)
	if err != nil {
		return nil, permanent("bus: api destination %s request: %w", dest.Arn, redactErr(err))
	}
	for k, v := range headers {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Amazon/EventBridge/ApiDestinations")
	if p := conn.AuthParameters; p != nil {
		switch conn.AuthorizationType {
		case AuthAPIKey:
			req.Header.Set(aws.ToString(p.ApiKeyAuthParameters.ApiKeyName), sec.APIKeyValue)
		case AuthBasic:
			req.SetBasicAuth(aws.ToString(p.BasicAuthParameters.Username), sec.Password)
		case AuthOAuth:
			tok, err := s.oauth(ctx, conn, sec)
			if err != nil {
				return nil, err
			}
			req.Header.Set("Authorization", "Bearer "+tok)
		}
	}
	return req, nil
}

func secretOr(sec *secret, kind string, key, v *string) string {
	if s, ok := sec.Values[kind+aws.ToString(key)]; ok {
		return s
	}
	return aws.ToString(v)
}

// oauth returns a connection's access token, asking its authorization endpoint with the
// client credentials (HTTP basic authentication and the OAuth HTTP parameters) when it
// has none that is still valid.
func (s *Service) oauth(ctx context.Context, conn *connection, sec *secret) (string, error) {
	now := s.opts.Clock()
	key := tokenKey(conn.Arn, sec.Version)
	s.mu.Lock()
	t, ok := s.tokens[key]
	s.mu.Unlock()
	if ok && now.Before(t.expires) {
		return t.value, nil
	}
	p := conn.AuthParameters.OAuthParameters
	u, err := url.Parse(aws.ToString(p.AuthorizationEndpoint))
	if err != nil {
		return "", permanent("bus: oauth endpoint of connection %s: %w", conn.Arn, redactErr(err))
	}
	form := url.Values{}
	headers := http.Header{}
	if hp := p.OAuthHttpParameters; hp != nil {
		q := u.Query()
		for _, x := range hp.QueryStringParameters {
			q.Set(aws.ToString(x.Key), secretOr(sec, "query:", x.Key, x.Value))
		}
		u.RawQuery = q.Encode()
		for _, h := range hp.HeaderParameters {
			headers.Set(aws.ToString(h.Key), secretOr(sec, "header:", h.Key, h.Value))
		}
		for _, b := range hp.BodyParameters {
			form.Set(aws.ToString(b.Key), secretOr(sec, "body:", b.Key, b.Value))
		}
	}
	var rd io.Reader
	if m := aws.ToString(p.HttpMethod); m != "GET" {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, aws.ToString(p.HttpMethod), u.String(), rd)
	if err != nil {
		return "", permanent("bus: oauth request of connection %s: %w", conn.Arn, redactErr(err))
	}
	for k, v := range headers {
		req.Header[k] = v
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.SetBasicAuth(aws.ToString(p.ClientParameters.ClientID), sec.ClientSecret)
	resp, err := s.opts.HTTPClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("bus: oauth token from %s: %w", u.Host, redactErr(err))
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if resp.StatusCode/100 != 2 || json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tr) != nil || tr.AccessToken == "" {
		return "", fmt.Errorf("bus: oauth token from %s: %s", u.Host, resp.Status)
	}
	if tr.ExpiresIn <= 0 {
		tr.ExpiresIn = 3600
	}
	s.cacheToken(key, oauthToken{value: tr.AccessToken, expires: now.Add(time.Duration(tr.ExpiresIn) * time.Second)}, now)
	return tr.AccessToken, nil
}

// redactURL is a URL without its user information, query and fragment: what error text
// may show of a URL whose query parameters (secret connection parameters) or user
// information may be secrets.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}

// redactErr returns err, which net/http and net/url make with the whole URL in its
// text, with that URL redacted (redactURL); the error it wraps is kept, so that
// errors.Is still sees a timeout.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: redactURL(ue.URL), Err: ue.Err}
	}
	return err
}
