// Package records makes realistic CloudTrail records for bannin's benchmarks: a mix of
// services, operations, identities (IAM users, assumed roles, root, AWS services),
// requestParameters, responseElements, resources and TLS details, with skewed frequencies as
// in a real account's trail. The same seed gives the same records, so cached data sets can be
// rebuilt byte for byte.
package records

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"
)

// Options shape a Generator.
type Options struct {
	// Accounts are the accounts whose events are made; the first gets most of them.
	Accounts []string
	// Regions and their weights (same length); default us-east-1 only.
	Regions []string
	Weights []int
	Seed    uint64
}

// Generator makes records. It is not safe for concurrent use.
type Generator struct {
	o       Options
	rng     *rand.Rand
	zipfIdx map[int]*rand.Zipf
	wsum    int
	ids     []identity
	tmpls   []template
	tsum    int
}

type identity struct {
	typ, user, role, session, key, principal string
	weight                                   int
}

// Head is what LookupEvents filters on, for choosing query values that exist.
type Head struct {
	EventID      string    `json:"eventId"`
	Time         time.Time `json:"time"`
	Account      string    `json:"account"`
	Region       string    `json:"region"`
	EventName    string    `json:"eventName"`
	EventSource  string    `json:"eventSource"`
	Username     string    `json:"username"`
	AccessKeyID  string    `json:"accessKeyId"`
	ReadOnly     bool      `json:"readOnly"`
	ResourceName string    `json:"resourceName,omitempty"`
}

// New returns a generator.
func New(o Options) *Generator {
	if len(o.Accounts) == 0 {
		o.Accounts = []string{"111122223333"}
	}
	if len(o.Regions) == 0 {
		o.Regions, o.Weights = []string{"us-east-1"}, []int{1}
	}
	g := &Generator{o: o, rng: rand.New(rand.NewPCG(o.Seed, 0x62616e6e696e)), zipfIdx: map[int]*rand.Zipf{}}
	for _, w := range o.Weights {
		g.wsum += w
	}
	g.identities()
	g.tmpls = templates()
	for _, t := range g.tmpls {
		g.tsum += t.weight
	}
	return g
}

// pick returns a skewed index in [0, n): a few values are common, most are rare.
func (g *Generator) pick(n int) int {
	z, ok := g.zipfIdx[n]
	if !ok {
		z = rand.NewZipf(g.rng, 1.1, 2, uint64(n-1))
		g.zipfIdx[n] = z
	}
	return int(z.Uint64())
}

func (g *Generator) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.rng.IntN(16)]
	}
	return string(b)
}

func (g *Generator) upper(n int) string {
	const digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.rng.IntN(len(digits))]
	}
	return string(b)
}

func (g *Generator) uuid() string {
	return g.hex(8) + "-" + g.hex(4) + "-4" + g.hex(3) + "-a" + g.hex(3) + "-" + g.hex(12)
}

var people = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
	"mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yuki"}

var roles = []string{"Admin", "ReadOnly", "PowerUser", "DeployRole", "ci-github-actions", "terraform",
	"lambda-exec-orders", "lambda-exec-billing", "ecs-task-api", "eks-node-group", "AWSServiceRoleForConfig",
	"OrganizationAccountAccessRole", "SecurityAudit", "backup-operator", "data-pipeline"}

var services = []string{"config.amazonaws.com", "cloudtrail.amazonaws.com", "autoscaling.amazonaws.com",
	"elasticloadbalancing.amazonaws.com", "lambda.amazonaws.com", "ssm.amazonaws.com"}

// identities builds the callers: IAM users with long-term keys, assumed-role sessions with
// temporary keys (many per role), root, and AWS services.
func (g *Generator) identities() {
	for _, p := range people {
		g.ids = append(g.ids, identity{typ: "IAMUser", user: p, key: "AKIA" + g.upper(16), principal: "AIDA" + g.upper(17), weight: 3})
	}
	for _, r := range roles {
		rid := "AROA" + g.upper(17)
		for s := 0; s < 8; s++ {
			sess := people[g.rng.IntN(len(people))] + "@example.com"
			if s%3 == 2 {
				sess = "i-0" + g.hex(16)
			} else if s%3 == 1 {
				sess = fmt.Sprintf("%d", 1700000000000+g.rng.Int64N(1e10))
			}
			g.ids = append(g.ids, identity{typ: "AssumedRole", role: r, session: sess, key: "ASIA" + g.upper(16), principal: rid, weight: 2})
		}
	}
	g.ids = append(g.ids, identity{typ: "Root", key: "ASIA" + g.upper(16), weight: 4})
	for _, s := range services {
		g.ids = append(g.ids, identity{typ: "AWSService", user: s, weight: 6})
	}
}

func (g *Generator) identity() identity {
	// Skewed: the first identities of each kind dominate, like a busy CI role.
	return g.ids[g.pick(len(g.ids))]
}

func (g *Generator) region() string {
	n := g.rng.IntN(g.wsum)
	for i, w := range g.o.Weights {
		if n < w {
			return g.o.Regions[i]
		}
		n -= w
	}
	return g.o.Regions[0]
}

func (g *Generator) account() string {
	if len(g.o.Accounts) == 1 || g.rng.IntN(10) < 7 {
		return g.o.Accounts[0]
	}
	return g.o.Accounts[1+g.rng.IntN(len(g.o.Accounts)-1)]
}

var agents = []string{
	"aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22 prompt/off command/ec2.describe-instances",
	"Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.210 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69",
	"APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.42.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.25.3 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.151.1",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36",
	"aws-sdk-java/2.25.16 Linux/5.10.213-201.855.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+8-LTS Java/17.0.10 vendor/Amazon.com_Inc. exec-env/AWS_Lambda_java17 io/sync http/Apache cfg/retry-mode/legacy",
}

// record is a CloudTrail record in the field order AWS writes.
type record struct {
	EventVersion        string         `json:"eventVersion"`
	UserIdentity        map[string]any `json:"userIdentity"`
	EventTime           string         `json:"eventTime"`
	EventSource         string         `json:"eventSource"`
	EventName           string         `json:"eventName"`
	AWSRegion           string         `json:"awsRegion"`
	SourceIPAddress     string         `json:"sourceIPAddress"`
	UserAgent           string         `json:"userAgent"`
	ErrorCode           string         `json:"errorCode,omitempty"`
	ErrorMessage        string         `json:"errorMessage,omitempty"`
	RequestParameters   map[string]any `json:"requestParameters"`
	ResponseElements    map[string]any `json:"responseElements"`
	RequestID           string         `json:"requestID"`
	EventID             string         `json:"eventID"`
	ReadOnly            bool           `json:"readOnly"`
	Resources           []resource     `json:"resources,omitempty"`
	EventType           string         `json:"eventType"`
	ManagementEvent     bool           `json:"managementEvent"`
	RecipientAccountID  string         `json:"recipientAccountId"`
	EventCategory       string         `json:"eventCategory"`
	AdditionalEventData map[string]any `json:"additionalEventData,omitempty"`
	TLSDetails          map[string]any `json:"tlsDetails,omitempty"`
	SessionCredFromCons string         `json:"sessionCredentialFromConsole,omitempty"`
}

type resource struct {
	AccountID string `json:"accountId,omitempty"`
	Type      string `json:"type"`
	ARN       string `json:"ARN"`
}

// ctx is what a template builds a record from.
type ctx struct {
	g                *Generator
	account, region  string
	params, response map[string]any
	resources        []resource
}

func (c *ctx) res(typ, arn string) {
	c.resources = append(c.resources, resource{AccountID: c.account, Type: typ, ARN: arn})
}

// Next makes one record at time t and returns it with its lookup attributes.
func (g *Generator) Next(t time.Time) ([]byte, Head) {
	n := g.rng.IntN(g.tsum)
	var tm template
	for _, x := range g.tmpls {
		if n < x.weight {
			tm = x
			break
		}
		n -= x.weight
	}
	c := &ctx{g: g, account: g.account(), region: g.region(), params: map[string]any{}}
	if tm.source == "s3.amazonaws.com" || tm.source == "iam.amazonaws.com" || tm.source == "signin.amazonaws.com" {
		// Global services are recorded in us-east-1.
		c.region = "us-east-1"
		if len(g.o.Regions) > 0 && g.o.Weights[0] > 0 {
			c.region = g.o.Regions[0]
		}
	}
	tm.build(c)
	id := g.identity()
	if tm.source == "signin.amazonaws.com" && id.typ == "AWSService" {
		id = g.ids[0]
	}
	ui := map[string]any{"type": id.typ}
	username := id.user
	ip := fmt.Sprintf("%d.%d.%d.%d", 3+g.rng.IntN(200), g.rng.IntN(256), g.rng.IntN(256), 1+g.rng.IntN(254))
	agent := agents[g.pick(len(agents))]
	switch id.typ {
	case "IAMUser":
		ui["principalId"] = id.principal
		ui["arn"] = "arn:aws:iam::" + c.account + ":user/" + id.user
		ui["accountId"] = c.account
		ui["accessKeyId"] = id.key
		ui["userName"] = id.user
	case "AssumedRole":
		ui["principalId"] = id.principal + ":" + id.session
		ui["arn"] = "arn:aws:sts::" + c.account + ":assumed-role/" + id.role + "/" + id.session
		ui["accountId"] = c.account
		ui["accessKeyId"] = id.key
		ui["sessionContext"] = map[string]any{
			"sessionIssuer": map[string]any{"type": "Role", "principalId": id.principal,
				"arn": "arn:aws:iam::" + c.account + ":role/" + id.role, "accountId": c.account, "userName": id.role},
			"webIdFederationData": map[string]any{},
			"attributes":          map[string]any{"creationDate": t.Add(-time.Duration(g.rng.IntN(3600)) * time.Second).UTC().Format(time.RFC3339), "mfaAuthenticated": "false"},
		}
		username = id.session
	case "Root":
		ui["principalId"] = c.account
		ui["arn"] = "arn:aws:iam::" + c.account + ":root"
		ui["accountId"] = c.account
		ui["accessKeyId"] = id.key
		ui["sessionContext"] = map[string]any{"attributes": map[string]any{"creationDate": t.Add(-time.Hour).UTC().Format(time.RFC3339), "mfaAuthenticated": "true"}}
		username = "root"
	case "AWSService":
		ui["invokedBy"] = id.user
		ip, agent = id.user, id.user
	}
	rec := record{EventVersion: "1.09", UserIdentity: ui, EventTime: t.UTC().Format(time.RFC3339),
		EventSource: tm.source, EventName: tm.name, AWSRegion: c.region, SourceIPAddress: ip, UserAgent: agent,
		RequestParameters: c.params, RequestID: g.uuid(), EventID: g.uuid(), ReadOnly: tm.readOnly,
		Resources: c.resources, EventType: "AwsApiCall", ManagementEvent: true, RecipientAccountID: c.account,
		EventCategory: "Management"}
	if len(c.params) == 0 {
		rec.RequestParameters = nil
	}
	if c.response != nil {
		rec.ResponseElements = c.response
	}
	switch tm.source {
	case "signin.amazonaws.com":
		rec.EventType = "AwsConsoleSignIn"
		rec.AdditionalEventData = map[string]any{"LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true",
			"MobileVersion": "No", "MFAUsed": []string{"Yes", "No"}[g.rng.IntN(2)]}
	case "s3.amazonaws.com":
		rec.AdditionalEventData = map[string]any{"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256",
			"bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader", "x-amz-id-2": g.upper(40) + "/" + g.upper(30) + "=",
			"bytesTransferredOut": 0}
	case "kms.amazonaws.com", "sts.amazonaws.com", "lambda.amazonaws.com":
		if id.typ == "AssumedRole" || id.typ == "IAMUser" {
			rec.SessionCredFromCons = ""
			rec.AdditionalEventData = map[string]any{"requestTlsContext": "TLSv1.3", "vpcEndpointId": "vpce-0" + g.hex(16)}
		}
	}
	if id.typ != "AWSService" {
		host := tm.source
		if tm.source != "s3.amazonaws.com" && tm.source != "iam.amazonaws.com" {
			host = tm.source[:len(tm.source)-len(".amazonaws.com")] + "." + c.region + ".amazonaws.com"
		}
		rec.TLSDetails = map[string]any{"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": host}
	}
	if tm.errRate > 0 && g.rng.IntN(100) < tm.errRate {
		rec.ErrorCode, rec.ErrorMessage = "AccessDenied", "User: "+fmt.Sprint(ui["arn"])+" is not authorized to perform: "+
			tm.source[:len(tm.source)-len(".amazonaws.com")]+":"+tm.name+" because no identity-based policy allows the action"
		rec.ResponseElements = nil
	}
	b, err := json.Marshal(rec)
	if err != nil {
		panic(err) // only maps of strings, numbers, bools and slices: cannot fail
	}
	h := Head{EventID: rec.EventID, Time: t.UTC().Truncate(time.Second), Account: c.account, Region: c.region,
		EventName: tm.name, EventSource: tm.source, Username: username, AccessKeyID: id.key, ReadOnly: tm.readOnly}
	if len(c.resources) > 0 {
		h.ResourceName = c.resources[0].ARN
		if len(h.ResourceName) > len("arn:aws:s3:::") && h.ResourceName[:len("arn:aws:s3:::")] == "arn:aws:s3:::" {
			h.ResourceName = h.ResourceName[len("arn:aws:s3:::"):]
		}
	}
	return b, h
}
