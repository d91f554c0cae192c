package records

import (
	"fmt"
	"time"
)

// template is one kind of API call: its service, name, how often it happens, and how its
// requestParameters, responseElements and resources look.
type template struct {
	source, name string
	readOnly     bool
	weight       int
	errRate      int // percent of calls that fail with AccessDenied
	build        func(c *ctx)
}

func (c *ctx) bucket() string {
	return fmt.Sprintf("acme-%s-%02d", []string{"logs", "assets", "backups", "data"}[c.g.pick(4)], c.g.pick(40))
}
func (c *ctx) instance() string { return fmt.Sprintf("i-0%015x", 0xabc000000000+c.g.pick(2000)) }
func (c *ctx) role() string     { return roles[c.g.pick(len(roles))] }
func (c *ctx) user() string     { return people[c.g.pick(len(people))] }
func (c *ctx) function() string {
	return fmt.Sprintf("orders-%s-%03d", []string{"api", "worker", "cron"}[c.g.pick(3)], c.g.pick(100))
}
func (c *ctx) logGroup() string { return fmt.Sprintf("/aws/lambda/%s", c.function()) }
func (c *ctx) sg() string       { return fmt.Sprintf("sg-0%016x", 0x5e0000000000+c.g.pick(100)) }
func (c *ctx) keyID() string {
	return fmt.Sprintf("%08x-1111-4222-8333-%012x", 0xfeed0000+c.g.pick(20), 0x444400000000+c.g.pick(20))
}
func (c *ctx) arn(svc, rest string) string {
	return "arn:aws:" + svc + ":" + c.region + ":" + c.account + ":" + rest
}

func templates() []template {
	return []template{
		{"ec2.amazonaws.com", "DescribeInstances", true, 120, 1, func(c *ctx) {
			c.params["instancesSet"] = map[string]any{"items": []any{map[string]any{"instanceId": c.instance()}}}
			c.params["filterSet"] = map[string]any{"items": []any{map[string]any{"name": "instance-state-name", "valueSet": map[string]any{"items": []any{map[string]any{"value": "running"}}}}}}
		}},
		{"ec2.amazonaws.com", "DescribeSecurityGroups", true, 40, 0, func(c *ctx) {
			c.params["securityGroupIdSet"] = map[string]any{"items": []any{map[string]any{"groupId": c.sg()}}}
			c.params["securityGroupSet"] = map[string]any{}
		}},
		{"ec2.amazonaws.com", "RunInstances", false, 6, 5, func(c *ctx) {
			id := c.instance()
			c.params["instancesSet"] = map[string]any{"items": []any{map[string]any{"imageId": "ami-0c55b159cbfafe1f0", "minCount": 1, "maxCount": 1}}}
			c.params["instanceType"] = []string{"t3.micro", "m6i.large", "c7g.xlarge"}[c.g.pick(3)]
			c.params["groupSet"] = map[string]any{"items": []any{map[string]any{"groupId": c.sg()}}}
			c.params["subnetId"] = fmt.Sprintf("subnet-0%016x", c.g.pick(12))
			c.params["monitoring"] = map[string]any{"enabled": false}
			c.params["disableApiTermination"] = false
			c.response = map[string]any{"requestId": c.g.uuid(), "reservationId": "r-0" + c.g.hex(16), "ownerId": c.account,
				"instancesSet": map[string]any{"items": []any{map[string]any{"instanceId": id, "imageId": "ami-0c55b159cbfafe1f0",
					"instanceState": map[string]any{"code": 0, "name": "pending"}, "privateIpAddress": "10.0.1.23"}}}}
			c.res("AWS::EC2::Instance", c.arn("ec2", "instance/"+id))
		}},
		{"ec2.amazonaws.com", "TerminateInstances", false, 4, 2, func(c *ctx) {
			id := c.instance()
			c.params["instancesSet"] = map[string]any{"items": []any{map[string]any{"instanceId": id}}}
			c.response = map[string]any{"requestId": c.g.uuid(), "instancesSet": map[string]any{"items": []any{map[string]any{"instanceId": id,
				"currentState": map[string]any{"code": 32, "name": "shutting-down"}, "previousState": map[string]any{"code": 16, "name": "running"}}}}}
			c.res("AWS::EC2::Instance", c.arn("ec2", "instance/"+id))
		}},
		{"ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", false, 3, 10, func(c *ctx) {
			sg := c.sg()
			c.params["groupId"] = sg
			c.params["ipPermissions"] = map[string]any{"items": []any{map[string]any{"ipProtocol": "tcp", "fromPort": 443, "toPort": 443,
				"ipRanges": map[string]any{"items": []any{map[string]any{"cidrIp": "0.0.0.0/0"}}}}}}
			c.response = map[string]any{"requestId": c.g.uuid(), "_return": true}
			c.res("AWS::EC2::SecurityGroup", c.arn("ec2", "security-group/"+sg))
		}},
		{"s3.amazonaws.com", "ListBuckets", true, 40, 0, func(c *ctx) {
			c.params["Host"] = "s3.amazonaws.com"
		}},
		{"s3.amazonaws.com", "GetBucketAcl", true, 50, 2, func(c *ctx) {
			b := c.bucket()
			c.params["bucketName"], c.params["Host"], c.params["acl"] = b, b+".s3.amazonaws.com", ""
			c.res("AWS::S3::Bucket", "arn:aws:s3:::"+b)
		}},
		{"s3.amazonaws.com", "GetBucketPolicy", true, 30, 5, func(c *ctx) {
			b := c.bucket()
			c.params["bucketName"], c.params["Host"], c.params["policy"] = b, b+".s3.amazonaws.com", ""
			c.res("AWS::S3::Bucket", "arn:aws:s3:::"+b)
		}},
		{"s3.amazonaws.com", "PutBucketPolicy", false, 2, 10, func(c *ctx) {
			b := c.bucket()
			c.params["bucketName"], c.params["Host"] = b, b+".s3.amazonaws.com"
			c.params["bucketPolicy"] = map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Sid": "AWSCloudTrailWrite",
				"Effect": "Allow", "Principal": map[string]any{"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
				"Resource": "arn:aws:s3:::" + b + "/AWSLogs/" + c.account + "/*", "Condition": map[string]any{"StringEquals": map[string]any{"s3:x-amz-acl": "bucket-owner-full-control"}}}}}
			c.params["policy"] = ""
			c.res("AWS::S3::Bucket", "arn:aws:s3:::"+b)
		}},
		{"iam.amazonaws.com", "GetRole", true, 40, 0, func(c *ctx) {
			c.params["roleName"] = c.role()
		}},
		{"iam.amazonaws.com", "ListRoles", true, 15, 0, func(c *ctx) {
			c.params["maxItems"] = 100
		}},
		{"iam.amazonaws.com", "CreateUser", false, 1, 20, func(c *ctx) {
			u := c.user() + "-" + c.g.hex(4)
			c.params["userName"] = u
			c.params["tags"] = []any{map[string]any{"key": "team", "value": "platform"}}
			c.response = map[string]any{"user": map[string]any{"path": "/", "userName": u, "userId": "AIDA" + c.g.upper(17),
				"arn": "arn:aws:iam::" + c.account + ":user/" + u, "createDate": "Mar 21, 2026, 10:15:02 AM"}}
			c.res("AWS::IAM::User", "arn:aws:iam::"+c.account+":user/"+u)
		}},
		{"iam.amazonaws.com", "AttachRolePolicy", false, 2, 20, func(c *ctx) {
			r := c.role()
			c.params["roleName"] = r
			c.params["policyArn"] = "arn:aws:iam::aws:policy/" + []string{"AdministratorAccess", "ReadOnlyAccess", "AmazonS3FullAccess"}[c.g.pick(3)]
			c.res("AWS::IAM::Role", "arn:aws:iam::"+c.account+":role/"+r)
		}},
		{"iam.amazonaws.com", "CreateAccessKey", false, 1, 20, func(c *ctx) {
			u := c.user()
			c.params["userName"] = u
			c.response = map[string]any{"accessKey": map[string]any{"userName": u, "accessKeyId": "AKIA" + c.g.upper(16), "status": "Active",
				"secretAccessKey": "HIDDEN_DUE_TO_SECURITY_REASONS", "createDate": "Mar 21, 2026, 10:15:02 AM"}}
			c.res("AWS::IAM::User", "arn:aws:iam::"+c.account+":user/"+u)
		}},
		{"sts.amazonaws.com", "AssumeRole", true, 60, 1, func(c *ctx) {
			r := c.role()
			c.params["roleArn"] = "arn:aws:iam::" + c.account + ":role/" + r
			c.params["roleSessionName"] = c.user() + "@example.com"
			c.params["durationSeconds"] = 3600
			c.response = map[string]any{"credentials": map[string]any{"accessKeyId": "ASIA" + c.g.upper(16), "sessionToken": "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD" + c.g.upper(40),
				"expiration": "Mar 21, 2026, 11:15:02 AM"}, "assumedRoleUser": map[string]any{"assumedRoleId": "AROA" + c.g.upper(17) + ":session",
				"arn": "arn:aws:sts::" + c.account + ":assumed-role/" + r + "/session"}}
			c.res("AWS::IAM::Role", "arn:aws:iam::"+c.account+":role/"+r)
		}},
		{"sts.amazonaws.com", "GetCallerIdentity", true, 50, 0, func(c *ctx) {}},
		{"kms.amazonaws.com", "Decrypt", true, 90, 1, func(c *ctx) {
			k := c.keyID()
			c.params["encryptionAlgorithm"] = "SYMMETRIC_DEFAULT"
			c.params["encryptionContext"] = map[string]any{"aws:lambda:FunctionArn": c.arn("lambda", "function:"+c.function())}
			c.res("AWS::KMS::Key", c.arn("kms", "key/"+k))
		}},
		{"kms.amazonaws.com", "GenerateDataKey", true, 40, 0, func(c *ctx) {
			k := c.keyID()
			c.params["keyId"] = "alias/aws/s3"
			c.params["keySpec"] = "AES_256"
			c.params["encryptionContext"] = map[string]any{"aws:s3:arn": "arn:aws:s3:::" + c.bucket() + "/AWSLogs/" + c.account + "/CloudTrail/" + c.region + "/2026/03/21/file.json.gz"}
			c.res("AWS::KMS::Key", c.arn("kms", "key/"+k))
		}},
		{"kms.amazonaws.com", "ScheduleKeyDeletion", false, 1, 30, func(c *ctx) {
			k := c.keyID()
			c.params["keyId"], c.params["pendingWindowInDays"] = k, 30
			c.response = map[string]any{"keyId": c.arn("kms", "key/"+k), "deletionDate": "Apr 20, 2026, 12:00:00 AM", "keyState": "PendingDeletion", "pendingWindowInDays": 30}
			c.res("AWS::KMS::Key", c.arn("kms", "key/"+k))
		}},
		{"lambda.amazonaws.com", "ListFunctions20150331", true, 20, 0, func(c *ctx) {
			c.params["functionVersion"] = "ALL"
		}},
		{"lambda.amazonaws.com", "GetFunction20150331v2", true, 20, 0, func(c *ctx) {
			c.params["functionName"] = c.function()
		}},
		{"lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2", false, 3, 5, func(c *ctx) {
			f := c.function()
			c.params["functionName"] = f
			c.params["environment"] = map[string]any{}
			c.params["memorySize"] = 512
			c.params["timeout"] = 30
			c.response = map[string]any{"functionName": f, "functionArn": c.arn("lambda", "function:"+f), "runtime": "python3.12",
				"role": "arn:aws:iam::" + c.account + ":role/lambda-exec-orders", "handler": "app.handler", "codeSize": 48213,
				"timeout": 30, "memorySize": 512, "lastModified": "2026-03-21T10:15:02.000+0000", "version": "$LATEST", "state": "Active"}
			c.res("AWS::Lambda::Function", c.arn("lambda", "function:"+f))
		}},
		{"logs.amazonaws.com", "CreateLogStream", false, 25, 0, func(c *ctx) {
			c.params["logGroupName"] = c.logGroup()
			c.params["logStreamName"] = "2026/03/21/[$LATEST]" + c.g.hex(32)
		}},
		{"logs.amazonaws.com", "DescribeLogGroups", true, 15, 0, func(c *ctx) {
			c.params["logGroupNamePrefix"] = "/aws/lambda/"
			c.params["limit"] = 50
		}},
		{"ssm.amazonaws.com", "GetParameter", true, 50, 2, func(c *ctx) {
			c.params["name"] = fmt.Sprintf("/prod/orders/%s", []string{"db-url", "api-key", "feature-flags"}[c.g.pick(3)])
			c.params["withDecryption"] = true
		}},
		{"cloudtrail.amazonaws.com", "LookupEvents", true, 5, 0, func(c *ctx) {
			c.params["lookupAttributes"] = []any{map[string]any{"attributeKey": "EventName", "attributeValue": "ConsoleLogin"}}
			c.params["startTime"] = "Mar 20, 2026, 12:00:00 AM"
			c.params["maxResults"] = 50
		}},
		{"cloudtrail.amazonaws.com", "StopLogging", false, 1, 40, func(c *ctx) {
			c.params["name"] = c.arn("cloudtrail", "trail/management-events")
			c.res("AWS::CloudTrail::Trail", c.arn("cloudtrail", "trail/management-events"))
		}},
		{"config.amazonaws.com", "PutEvaluations", false, 10, 0, func(c *ctx) {
			c.params["evaluations"] = []any{map[string]any{"complianceResourceType": "AWS::S3::Bucket", "complianceResourceId": c.bucket(),
				"complianceType": "COMPLIANT", "orderingTimestamp": time.Date(2026, 3, 21, 10, 0, 0, 0, time.UTC).Format("Jan 2, 2006, 3:04:05 PM")}}
			c.params["resultToken"] = c.g.hex(64)
			c.params["testMode"] = false
		}},
		{"signin.amazonaws.com", "ConsoleLogin", false, 4, 5, func(c *ctx) {
			c.response = map[string]any{"ConsoleLogin": "Success"}
		}},
		{"dynamodb.amazonaws.com", "DescribeTable", true, 30, 0, func(c *ctx) {
			t := []string{"orders", "customers", "sessions", "invoices"}[c.g.pick(4)]
			c.params["tableName"] = t
			c.res("AWS::DynamoDB::Table", c.arn("dynamodb", "table/"+t))
		}},
	}
}
