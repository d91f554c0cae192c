package runbook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/ssm"
)

// ResourceType is the CloudFormation type documents are stored and recorded under.
const ResourceType = "AWS::SSM::Document"

// Document types this package gives meaning to; the others are stored as given.
const (
	DocAutomation = "Automation"
	DocCommand    = "Command"
)

// versionBucket holds every version of every document, keyed account/region/name/version.
const versionBucket = "ssm.document-version"

var (
	docNameRE     = regexp.MustCompile(`^[a-zA-Z0-9_\-.]{3,128}$`)
	versionNameRE = regexp.MustCompile(`^[a-zA-Z0-9_\-.]{1,128}$`)
	docARNRE      = regexp.MustCompile(`^arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:document/([a-zA-Z0-9_\-.]{3,128})$`)
	docTypes      = []string{"Command", "Policy", "Automation", "Session", "Package", "ApplicationConfiguration",
		"ApplicationConfigurationSchema", "DeploymentStrategy", "ChangeCalendar", "Automation.ChangeTemplate",
		"ProblemAnalysis", "ProblemAnalysisTemplate", "CloudFormation", "ConformancePackTemplate", "QuickSetup",
		"ManualApprovalPolicy", "AutoApprovalPolicy"}
)

// document is a document's stored state (the resource's configuration): what all versions
// share, plus the default version's content so that AWS Config shows what runs.
type document struct {
	Name           string    `json:"Name"`
	ARN            string    `json:"Arn"`
	Owner          string    `json:"Owner"`
	DocumentType   string    `json:"DocumentType"`
	DisplayName    string    `json:"DisplayName,omitempty"`
	TargetType     string    `json:"TargetType,omitempty"`
	CreatedDate    time.Time `json:"CreatedDate"`
	DefaultVersion int       `json:"DefaultVersion"`
	LatestVersion  int       `json:"LatestVersion"`
	// Content and DocumentFormat are the default version's.
	Content        string `json:"Content"`
	DocumentFormat string `json:"DocumentFormat"`
	SchemaVersion  string `json:"SchemaVersion,omitempty"`

	tags map[string]string
}

// version is one stored version of a document.
type version struct {
	Version     int       `json:"version"`
	VersionName string    `json:"versionName,omitempty"`
	Content     string    `json:"content"`
	Format      string    `json:"format"`
	Hash        string    `json:"hash"`
	Created     time.Time `json:"created"`
}

func badRequest(code, format string, args ...any) error {
	return awserr.New(code, http.StatusBadRequest, format, args...)
}

func msg(format string, args ...any) *string {
	s := fmt.Sprintf(format, args...)
	return &s
}

func docARN(region, account, name string) string {
	return fmt.Sprintf("arn:aws:ssm:%s:%s:document/%s", region, account, name)
}

func versionKey(account, region, name string, v int) string {
	return fmt.Sprintf("%s/%s/%s/%010d", account, region, name, v)
}

func hashOf(content string) string {
	sum := sha256.Sum256([]byte(content))
	return hex.EncodeToString(sum[:])
}

// docName accepts a document name or ARN.
func docName(s string) string {
	if m := docARNRE.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return s
}

// loadDocument reads a document, or returns InvalidDocument.
func loadDocument(ctx context.Context, tx store.ReadTx, account, region, name string) (*document, error) {
	name = docName(name)
	r, err := tx.GetResource(ctx, account, region, ResourceType, name)
	if err != nil {
		return nil, fmt.Errorf("runbook: read document %s: %w", name, err)
	}
	if r == nil {
		return nil, &ssm.InvalidDocument{Message: msg("Document with name %s does not exist.", name)}
	}
	var d document
	if err := json.Unmarshal(r.Config, &d); err != nil {
		return nil, fmt.Errorf("runbook: decode document %s: %w", name, err)
	}
	d.tags = r.Tags
	return &d, nil
}

func saveDocument(ctx context.Context, tx store.Tx, account, region string, d *document) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return tx.PutResource(ctx, &store.Resource{Account: account, Region: region, Type: ResourceType, ID: d.Name,
		ARN: d.ARN, Name: d.Name, Config: b, Tags: d.tags, Created: d.CreatedDate})
}

func loadVersion(ctx context.Context, tx store.ReadTx, account, region, name string, v int) (*version, error) {
	b, err := tx.Get(ctx, versionBucket, versionKey(account, region, name, v))
	if err != nil {
		return nil, fmt.Errorf("runbook: read document version: %w", err)
	}
	if b == nil {
		return nil, nil
	}
	var ver version
	if err := json.Unmarshal(b, &ver); err != nil {
		return nil, fmt.Errorf("runbook: decode document version: %w", err)
	}
	return &ver, nil
}

func listVersions(ctx context.Context, tx store.ReadTx, account, region, name string) ([]*version, error) {
	var out []*version
	prefix := fmt.Sprintf("%s/%s/%s/", account, region, name)
	after := ""
	for {
		kvs, err := tx.List(ctx, versionBucket, prefix, after, 1000)
		if err != nil {
			return nil, fmt.Errorf("runbook: list document versions: %w", err)
		}
		for _, kv := range kvs {
			var v version
			if err := json.Unmarshal(kv.Value, &v); err != nil {
				return nil, fmt.Errorf("runbook: decode document version: %w", err)
			}
			out = append(out, &v)
		}
		if len(kvs) < 1000 {
			return out, nil
		}
		after = kvs[len(kvs)-1].Key
	}
}

// pickVersion resolves DocumentVersion ("$DEFAULT", "$LATEST", a number) and VersionName.
func pickVersion(ctx context.Context, tx store.ReadTx, account, region string, d *document, docVersion, versionName string) (*version, error) {
	notFound := &ssm.InvalidDocumentVersion{Message: msg("The document version is not valid or does not exist.")}
	var ver *version
	switch docVersion {
	case "", "$DEFAULT":
		if versionName == "" {
			docVersion = strconv.Itoa(d.DefaultVersion)
		}
	case "$LATEST":
		docVersion = strconv.Itoa(d.LatestVersion)
	}
	if docVersion != "" && docVersion != "$DEFAULT" {
		n, err := strconv.Atoi(docVersion)
		if err != nil || n < 1 {
			return nil, notFound
		}
		if ver, err = loadVersion(ctx, tx, account, region, d.Name, n); err != nil {
			return nil, err
		}
		if ver == nil || (versionName != "" && ver.VersionName != versionName) {
			return nil, notFound
		}
		return ver, nil
	}
	vs, err := listVersions(ctx, tx, account, region, d.Name)
	if err != nil {
		return nil, err
	}
	for _, v := range vs {
		if v.VersionName == versionName {
			return v, nil
		}
	}
	return nil, notFound
}

// checkDocument validates content for CreateDocument and UpdateDocument.
func checkDocument(content, format, docType string) (*Definition, error) {
	def, err := parseDefinition(content, format, docType)
	if err != nil {
		if ce, ok := err.(*contentError); ok {
			return nil, &ssm.InvalidDocumentContent{Message: &ce.msg}
		}
		return nil, err
	}
	return def, nil
}

func checkFormat(f string) (string, error) {
	switch f {
	case "":
		return FormatJSON, nil
	case FormatJSON, FormatYAML:
		return f, nil
	case "TEXT":
		return "", &ssm.InvalidDocumentContent{Message: msg("DocumentFormat TEXT is not supported for this document type.")}
	}
	return "", badRequest("ValidationException", "1 validation error detected: Value '%s' at 'documentFormat' failed to satisfy constraint: Member must satisfy enum value set: [YAML, JSON, TEXT]", f)
}

func checkVersionName(ctx context.Context, tx store.ReadTx, account, region, name, vn string) error {
	if vn == "" {
		return nil
	}
	if !versionNameRE.MatchString(vn) {
		return badRequest("ValidationException", "1 validation error detected: Value '%s' at 'versionName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9_\\-.]{1,128}$", vn)
	}
	vs, err := listVersions(ctx, tx, account, region, name)
	if err != nil {
		return err
	}
	for _, v := range vs {
		if v.VersionName == vn {
			return &ssm.DuplicateDocumentVersionName{Message: msg("The specified version name is a duplicate.")}
		}
	}
	return nil
}

// CreateDocument stores version 1 of a new document.
func (s *Service) CreateDocument(ctx context.Context, in *ssm.CreateDocumentRequest) (*ssm.CreateDocumentResult, error) {
	c := call.From(ctx)
	tx := c.Write()
	name := aws.ToString(in.Name)
	if !docNameRE.MatchString(name) {
		return nil, badRequest("ValidationException", "1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9_\\-.]{3,128}$", name)
	}
	if l := strings.ToLower(name); strings.HasPrefix(l, "aws") || strings.HasPrefix(l, "amazon") || strings.HasPrefix(l, "amzn") {
		return nil, badRequest("ValidationException", "Document name %s is not valid: names that start with aws, amazon or amzn are reserved.", name)
	}
	docType := aws.ToString(in.DocumentType)
	if docType == "" {
		docType = DocCommand
	}
	if !slices.Contains(docTypes, docType) {
		return nil, &ssm.InvalidDocumentType{Message: msg("Document type %s is not valid.", docType)}
	}
	format, err := checkFormat(aws.ToString(in.DocumentFormat))
	if err != nil {
		return nil, err
	}
	content := aws.ToString(in.Content)
	def, err := checkDocument(content, format, docType)
	if err != nil {
		return nil, err
	}
	existing, err := tx.GetResource(ctx, c.Account, c.Region, ResourceType, name)
	if err != nil {
		return nil, err
	}
	if existing != nil {
		return nil, &ssm.DocumentAlreadyExists{Message: msg("Document with same name %s already exists", name)}
	}
	tags, err := tagMap(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	// A document deleted earlier may have left no versions; start clean either way.
	if err := deleteVersions(ctx, tx, c.Account, c.Region, name); err != nil {
		return nil, err
	}
	vn := aws.ToString(in.VersionName)
	if err := checkVersionName(ctx, tx, c.Account, c.Region, name, vn); err != nil {
		return nil, err
	}
	now := s.opts.Clock().UTC()
	d := &document{Name: name, ARN: docARN(c.Region, c.Account, name), Owner: c.Account, DocumentType: docType,
		DisplayName: aws.ToString(in.DisplayName), TargetType: aws.ToString(in.TargetType), CreatedDate: now,
		DefaultVersion: 1, LatestVersion: 1, Content: content, DocumentFormat: format, SchemaVersion: def.SchemaVersion, tags: tags}
	v := &version{Version: 1, VersionName: vn, Content: content, Format: format, Hash: hashOf(content), Created: now}
	if err := putVersion(ctx, tx, c.Account, c.Region, name, v); err != nil {
		return nil, err
	}
	if err := saveDocument(ctx, tx, c.Account, c.Region, d); err != nil {
		return nil, err
	}
	c.Touch(ResourceType, name, d.ARN)
	return &ssm.CreateDocumentResult{DocumentDescription: describe(d, v, def)}, nil
}

func putVersion(ctx context.Context, tx store.Tx, account, region, name string, v *version) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Put(ctx, versionBucket, versionKey(account, region, name, v.Version), b)
}

func deleteVersions(ctx context.Context, tx store.Tx, account, region, name string) error {
	vs, err := listVersions(ctx, tx, account, region, name)
	if err != nil {
		return err
	}
	for _, v := range vs {
		if err := tx.Delete(ctx, versionBucket, versionKey(account, region, name, v.Version)); err != nil {
			return err
		}
	}
	return nil
}

// describe is DescribeDocument's view of version v.
func describe(d *document, v *version, def *Definition) *ssm.DocumentDescription {
	out := &ssm.DocumentDescription{
		Name: aws.String(d.Name), Owner: aws.String(d.Owner), CreatedDate: aws.Time(v.Created),
		Status: aws.String("Active"), DocumentVersion: aws.String(strconv.Itoa(v.Version)),
		Hash: aws.String(v.Hash), HashType: aws.String("Sha256"), DocumentType: aws.String(d.DocumentType),
		LatestVersion: aws.String(strconv.Itoa(d.LatestVersion)), DefaultVersion: aws.String(strconv.Itoa(d.DefaultVersion)),
		DocumentFormat: aws.String(v.Format), Tags: wireTags(d.tags), PlatformTypes: platforms(d.DocumentType),
		Parameters: []ssm.DocumentParameter{},
	}
	if d.DisplayName != "" {
		out.DisplayName = aws.String(d.DisplayName)
	}
	if d.TargetType != "" {
		out.TargetType = aws.String(d.TargetType)
	}
	if v.VersionName != "" {
		out.VersionName = aws.String(v.VersionName)
	}
	if def != nil {
		out.SchemaVersion = aws.String(def.SchemaVersion)
		if def.Description != "" {
			out.Description = aws.String(def.Description)
		}
		for _, p := range def.Params {
			dp := ssm.DocumentParameter{Name: aws.String(p.Name), Type: aws.String(p.Type)}
			if p.Description != "" {
				dp.Description = aws.String(p.Description)
			}
			if p.HasDefault {
				dv := scalarString(p.Default)
				dp.DefaultValue = &dv
			}
			out.Parameters = append(out.Parameters, dp)
		}
	}
	return out
}

func platforms(docType string) []string {
	if docType == DocAutomation || docType == DocCommand {
		return []string{"Windows", "Linux", "MacOS"}
	}
	return []string{}
}

// definitionOf parses a stored version (it was checked when stored).
func definitionOf(d *document, v *version) *Definition {
	def, err := parseDefinition(v.Content, v.Format, d.DocumentType)
	if err != nil {
		return nil
	}
	return def
}

// GetDocument returns a version's content, in the format asked for.
func (s *Service) GetDocument(ctx context.Context, in *ssm.GetDocumentRequest) (*ssm.GetDocumentResult, error) {
	c := call.From(ctx)
	d, err := loadDocument(ctx, c.Tx, c.Account, c.Region, aws.ToString(in.Name))
	if err != nil {
		return nil, err
	}
	v, err := pickVersion(ctx, c.Tx, c.Account, c.Region, d, aws.ToString(in.DocumentVersion), aws.ToString(in.VersionName))
	if err != nil {
		return nil, err
	}
	format := aws.ToString(in.DocumentFormat)
	if format == "" {
		format = v.Format
	} else if _, err := checkFormat(format); err != nil {
		return nil, err
	}
	content, err := convertContent(v.Content, v.Format, format)
	if err != nil {
		return nil, err
	}
	out := &ssm.GetDocumentResult{Name: aws.String(d.Name), CreatedDate: aws.Time(v.Created),
		DocumentVersion: aws.String(strconv.Itoa(v.Version)), Status: aws.String("Active"), Content: aws.String(content),
		DocumentType: aws.String(d.DocumentType), DocumentFormat: aws.String(format)}
	if v.VersionName != "" {
		out.VersionName = aws.String(v.VersionName)
	}
	if d.DisplayName != "" {
		out.DisplayName = aws.String(d.DisplayName)
	}
	return out, nil
}

// DescribeDocument describes a version (default: the default version).
func (s *Service) DescribeDocument(ctx context.Context, in *ssm.DescribeDocumentRequest) (*ssm.DescribeDocumentResult, error) {
	c := call.From(ctx)
	d, err := loadDocument(ctx, c.Tx, c.Account, c.Region, aws.ToString(in.Name))
	if err != nil {
		return nil, err
	}
	v, err := pickVersion(ctx, c.Tx, c.Account, c.Region, d, aws.ToString(in.DocumentVersion), aws.ToString(in.VersionName))
	if err != nil {
		return nil, err
	}
	return &ssm.DescribeDocumentResult{Document: describe(d, v, definitionOf(d, v))}, nil
}

// UpdateDocument adds a new version; only the latest version can be updated.
func (s *Service) UpdateDocument(ctx context.Context, in *ssm.UpdateDocumentRequest) (*ssm.UpdateDocumentResult, error) {
	c := call.From(ctx)
	tx := c.Write()
	d, err := loadDocument(ctx, tx, c.Account, c.Region, aws.ToString(in.Name))
	if err != nil {
		return nil, err
	}
	if dv := aws.ToString(in.DocumentVersion); dv != "" && dv != "$LATEST" && dv != strconv.Itoa(d.LatestVersion) {
		return nil, &ssm.InvalidDocumentVersion{Message: msg("Only the latest version of a document (%d, or $LATEST) can be updated.", d.LatestVersion)}
	}
	format, err := checkFormat(aws.ToString(in.DocumentFormat))
	if err != nil {
		return nil, err
	}
	content := aws.ToString(in.Content)
	def, err := checkDocument(content, format, d.DocumentType)
	if err != nil {
		return nil, err
	}
	latest, err := loadVersion(ctx, tx, c.Account, c.Region, d.Name, d.LatestVersion)
	if err != nil {
		return nil, err
	}
	if latest != nil && latest.Hash == hashOf(content) {
		return nil, &ssm.DuplicateDocumentContent{Message: msg("The content of the document matches the latest version of document %s.", d.Name)}
	}
	vn := aws.ToString(in.VersionName)
	if err := checkVersionName(ctx, tx, c.Account, c.Region, d.Name, vn); err != nil {
		return nil, err
	}
	if n, err := countVersions(ctx, tx, c.Account, c.Region, d.Name); err != nil {
		return nil, err
	} else if n >= 1000 {
		return nil, &ssm.DocumentVersionLimitExceeded{Message: msg("Document %s has the maximum of 1000 versions.", d.Name)}
	}
	d.LatestVersion++
	v := &version{Version: d.LatestVersion, VersionName: vn, Content: content, Format: format, Hash: hashOf(content),
		Created: s.opts.Clock().UTC()}
	if x := aws.ToString(in.DisplayName); x != "" {
		d.DisplayName = x
	}
	if x := aws.ToString(in.TargetType); x != "" {
		d.TargetType = x
	}
	if err := putVersion(ctx, tx, c.Account, c.Region, d.Name, v); err != nil {
		return nil, err
	}
	if err := saveDocument(ctx, tx, c.Account, c.Region, d); err != nil {
		return nil, err
	}
	c.Touch(ResourceType, d.Name, d.ARN)
	return &ssm.UpdateDocumentResult{DocumentDescription: describe(d, v, def)}, nil
}

func countVersions(ctx context.Context, tx store.ReadTx, account, region, name string) (int, error) {
	vs, err := listVersions(ctx, tx, account, region, name)
	return len(vs), err
}

// UpdateDocumentDefaultVersion chooses the version that runs when none is named.
func (s *Service) UpdateDocumentDefaultVersion(ctx context.Context, in *ssm.UpdateDocumentDefaultVersionRequest) (*ssm.UpdateDocumentDefaultVersionResult, error) {
	c := call.From(ctx)
	tx := c.Write()
	d, err := loadDocument(ctx, tx, c.Account, c.Region, aws.ToString(in.Name))
	if err != nil {
		return nil, err
	}
	v, err := pickVersion(ctx, tx, c.Account, c.Region, d, aws.ToString(in.DocumentVersion), "")
	if err != nil {
		return nil, err
	}
	d.DefaultVersion, d.Content, d.DocumentFormat = v.Version, v.Content, v.Format
	if def := definitionOf(d, v); def != nil {
		d.SchemaVersion = def.SchemaVersion
	}
	if err := saveDocument(ctx, tx, c.Account, c.Region, d); err != nil {
		return nil, err
	}
	c.Touch(ResourceType, d.Name, d.ARN)
	out := &ssm.DocumentDefaultVersionDescription{Name: aws.String(d.Name), DefaultVersion: aws.String(strconv.Itoa(v.Version))}
	if v.VersionName != "" {
		out.DefaultVersionName = aws.String(v.VersionName)
	}
	return &ssm.UpdateDocumentDefaultVersionResult{Description: out}, nil
}

// DeleteDocument deletes a document, or one version of it that is not the default.
func (s *Service) DeleteDocument(ctx context.Context, in *ssm.DeleteDocumentRequest) (*ssm.DeleteDocumentResult, error) {
	c := call.From(ctx)
	tx := c.Write()
	d, err := loadDocument(ctx, tx, c.Account, c.Region, aws.ToString(in.Name))
	if err != nil {
		return nil, err
	}
	c.Touch(ResourceType, d.Name, d.ARN)
	dv, vn := aws.ToString(in.DocumentVersion), aws.ToString(in.VersionName)
	if dv == "" && vn == "" {
		if err := deleteVersions(ctx, tx, c.Account, c.Region, d.Name); err != nil {
			return nil, err
		}
		if err := tx.DeleteResource(ctx, c.Account, c.Region, ResourceType, d.Name); err != nil {
			return nil, err
		}
		return &ssm.DeleteDocumentResult{}, nil
	}
	v, err := pickVersion(ctx, tx, c.Account, c.Region, d, dv, vn)
	if err != nil {
		return nil, err
	}
	if v.Version == d.DefaultVersion {
		return nil, &ssm.InvalidDocumentOperation{Message: msg("The default version of document %s cannot be deleted; delete the document or change its default version first.", d.Name)}
	}
	if err := tx.Delete(ctx, versionBucket, versionKey(c.Account, c.Region, d.Name, v.Version)); err != nil {
		return nil, err
	}
	if v.Version == d.LatestVersion {
		vs, err := listVersions(ctx, tx, c.Account, c.Region, d.Name)
		if err != nil {
			return nil, err
		}
		d.LatestVersion = vs[len(vs)-1].Version
		if err := saveDocument(ctx, tx, c.Account, c.Region, d); err != nil {
			return nil, err
		}
	}
	return &ssm.DeleteDocumentResult{}, nil
}

// ListDocuments lists the account's documents in the call's region. bannin holds no
// Amazon-owned or shared documents, so the Owner filters Amazon, Public and ThirdParty
// select none.
func (s *Service) ListDocuments(ctx context.Context, in *ssm.ListDocumentsRequest) (*ssm.ListDocumentsResult, error) {
	c := call.From(ctx)
	filters := map[string][]string{}
	for _, f := range in.DocumentFilterList {
		k := aws.ToString(f.Key)
		filters[k] = append(filters[k], aws.ToString(f.Value))
	}
	for _, f := range in.Filters {
		k := aws.ToString(f.Key)
		filters[k] = append(filters[k], f.Values...)
	}
	for k, vs := range filters {
		switch {
		case k == "Name" || k == "DocumentType" || k == "PlatformTypes" || k == "SearchKeyword" || strings.HasPrefix(k, "tag:") || k == "TagKeys" || k == "SchemaVersion" || k == "TargetType":
		case k == "Owner":
			for _, v := range vs {
				if !slices.Contains([]string{"Self", "Private", "All", "Amazon", "Public", "ThirdParty"}, v) && v != c.Account {
					return nil, &ssm.InvalidFilterValue{Message: msg("Owner filter value %s is not valid.", v)}
				}
			}
		default:
			return nil, &ssm.InvalidFilterKey{Message: msg("The filter key %s is not valid.", k)}
		}
	}
	limit := int(aws.ToInt32(in.MaxResults))
	if limit <= 0 || limit > 50 {
		limit = 50
	}
	// The token is the name of the last document of the previous page.
	tok := aws.ToString(in.NextToken)
	if tok != "" && !docNameRE.MatchString(tok) {
		return nil, &ssm.InvalidNextToken{Message: msg("The specified token is not valid.")}
	}
	out := &ssm.ListDocumentsResult{DocumentIdentifiers: []ssm.DocumentIdentifier{}}
	err := eachDocument(ctx, c.Tx, c.Account, c.Region, func(d *document) bool {
		if d.Name <= tok || !matchDocument(d, filters, c.Account) {
			return true
		}
		if len(out.DocumentIdentifiers) == limit {
			out.NextToken = out.DocumentIdentifiers[limit-1].Name
			return false
		}
		out.DocumentIdentifiers = append(out.DocumentIdentifiers, identifier(d))
		return true
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eachDocument calls fn with the documents of an account and region in name order until
// fn returns false.
func eachDocument(ctx context.Context, tx store.ReadTx, account, region string, fn func(*document) bool) error {
	after := ""
	for {
		rs, next, err := tx.ListResources(ctx, store.ResourceQuery{Account: account, Region: region, Type: ResourceType, After: after, Limit: 100})
		if err != nil {
			return fmt.Errorf("runbook: list documents: %w", err)
		}
		for _, r := range rs {
			var d document
			if err := json.Unmarshal(r.Config, &d); err != nil {
				return fmt.Errorf("runbook: decode document %s: %w", r.ID, err)
			}
			d.tags = r.Tags
			if !fn(&d) {
				return nil
			}
		}
		if next == "" {
			return nil
		}
		after = next
	}
}

func matchDocument(d *document, f map[string][]string, account string) bool {
	for k, vs := range f {
		ok := false
		for _, v := range vs {
			switch {
			case k == "Name":
				ok = ok || d.Name == v
			case k == "SearchKeyword":
				ok = ok || strings.Contains(strings.ToLower(d.Name), strings.ToLower(v))
			case k == "DocumentType":
				ok = ok || d.DocumentType == v
			case k == "SchemaVersion":
				ok = ok || d.SchemaVersion == v
			case k == "TargetType":
				ok = ok || d.TargetType == v
			case k == "PlatformTypes":
				ok = ok || slices.Contains(platforms(d.DocumentType), v)
			case k == "Owner":
				ok = ok || v == "Self" || v == "Private" || v == "All" || v == account
			case k == "TagKeys":
				_, has := d.tags[v]
				ok = ok || has
			case strings.HasPrefix(k, "tag:"):
				tv, has := d.tags[strings.TrimPrefix(k, "tag:")]
				ok = ok || (has && tv == v)
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func identifier(d *document) ssm.DocumentIdentifier {
	id := ssm.DocumentIdentifier{Name: aws.String(d.Name), CreatedDate: aws.Time(d.CreatedDate), Owner: aws.String(d.Owner),
		DocumentVersion: aws.String(strconv.Itoa(d.DefaultVersion)), DocumentType: aws.String(d.DocumentType),
		DocumentFormat: aws.String(d.DocumentFormat), Tags: wireTags(d.tags), PlatformTypes: platforms(d.DocumentType)}
	if d.SchemaVersion != "" {
		id.SchemaVersion = aws.String(d.SchemaVersion)
	}
	if d.DisplayName != "" {
		id.DisplayName = aws.String(d.DisplayName)
	}
	if d.TargetType != "" {
		id.TargetType = aws.String(d.TargetType)
	}
	return id
}

// ListDocumentVersions lists a document's versions, newest first.
func (s *Service) ListDocumentVersions(ctx context.Context, in *ssm.ListDocumentVersionsRequest) (*ssm.ListDocumentVersionsResult, error) {
	c := call.From(ctx)
	d, err := loadDocument(ctx, c.Tx, c.Account, c.Region, aws.ToString(in.Name))
	if err != nil {
		return nil, err
	}
	vs, err := listVersions(ctx, c.Tx, c.Account, c.Region, d.Name)
	if err != nil {
		return nil, err
	}
	slices.Reverse(vs)
	start := 0
	if tok := aws.ToString(in.NextToken); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 || n > len(vs) {
			return nil, &ssm.InvalidNextToken{Message: msg("The specified token is not valid.")}
		}
		start = n
	}
	limit := int(aws.ToInt32(in.MaxResults))
	if limit <= 0 || limit > 50 {
		limit = 50
	}
	out := &ssm.ListDocumentVersionsResult{DocumentVersions: []ssm.DocumentVersionInfo{}}
	end := min(start+limit, len(vs))
	for _, v := range vs[start:end] {
		info := ssm.DocumentVersionInfo{Name: aws.String(d.Name), DocumentVersion: aws.String(strconv.Itoa(v.Version)),
			CreatedDate: aws.Time(v.Created), IsDefaultVersion: aws.Bool(v.Version == d.DefaultVersion),
			DocumentFormat: aws.String(v.Format), Status: aws.String("Active")}
		if v.VersionName != "" {
			info.VersionName = aws.String(v.VersionName)
		}
		if d.DisplayName != "" {
			info.DisplayName = aws.String(d.DisplayName)
		}
		out.DocumentVersions = append(out.DocumentVersions, info)
	}
	if end < len(vs) {
		out.NextToken = aws.String(strconv.Itoa(end))
	}
	return out, nil
}
