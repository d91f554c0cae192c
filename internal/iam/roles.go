package iam

import (
	"crypto/sha256"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/bannin/bannin/internal/call"
)

var roleARN = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}):role/(?:.*/)?([\w+=,.@-]+)$`)

// ServiceLinkedRoleARN is the role an AWS service uses in an account when no role was
// given for its work, e.g. AWSServiceRoleForAmazonSSM for ssm.amazonaws.com.
func ServiceLinkedRoleARN(account, service, roleName string) string {
	return fmt.Sprintf("arn:aws:iam::%s:role/aws-service-role/%s/%s", account, service, roleName)
}

// AssumedRole is the principal of a session of a role that service (e.g.
// "ssm.amazonaws.com") holds to act for an account: a runbook's AssumeRole, a
// remediation's role. Calls made with it are recorded as AssumedRole, invokedBy service.
// Until roles can be created through the API, any well-formed role ARN is accepted.
func AssumedRole(role, session, service string, issued time.Time) (call.Principal, error) {
	m := roleARN.FindStringSubmatch(role)
	if m == nil {
		return call.Principal{}, fmt.Errorf("iam: %q is not a role ARN", role)
	}
	account, name := m[1], m[2]
	sum := sha256.Sum256([]byte(role))
	id := "AROA" + strings.ToUpper(fmt.Sprintf("%x", sum[:])[:17])
	keySum := sha256.Sum256([]byte(role + "\x00" + session))
	partition := strings.SplitN(role, ":", 3)[1]
	return call.Principal{
		Type:          "AssumedRole",
		Account:       account,
		ARN:           fmt.Sprintf("arn:%s:sts::%s:assumed-role/%s/%s", partition, account, name, session),
		PrincipalID:   id + ":" + session,
		AccessKeyID:   "ASIA" + strings.ToUpper(fmt.Sprintf("%x", keySum[:])[:16]),
		SessionName:   session,
		IssuerARN:     role,
		IssuerName:    name,
		InvokedBy:     service,
		SessionIssued: issued.UTC(),
	}, nil
}
