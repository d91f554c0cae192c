package sigv4

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAWSCLI runs the aws CLI (v1 from PATH, and v2 at /usr/bin/aws where installed) against
// a server that verifies every request: sts get-caller-identity, and an s3 cp of a 10 MB file,
// which the CLI sends as a multipart upload, over HTTP, and with v1 over HTTPS too (where it
// sends aws-chunked payloads with a trailing CRC32).
func TestAWSCLI(t *testing.T) {
	v1, err := exec.LookPath("aws")
	if err != nil {
		t.Fatalf("aws CLI v1 not on PATH: %v", err)
	}
	clis := map[string]string{"v1": v1}
	if _, err := os.Stat("/usr/bin/aws"); err == nil && v1 != "/usr/bin/aws" {
		clis["v2"] = "/usr/bin/aws"
	} else {
		t.Logf("aws CLI v2 is not installed at /usr/bin/aws; testing v1 only")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "big.bin")
	data := randomBytes(t, 10<<20)
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"AWS_ACCESS_KEY_ID="+testKey, "AWS_SECRET_ACCESS_KEY="+testSecret, "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE="+filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "none"),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=", "HOME="+dir)
	for name, bin := range clis {
		for _, useTLS := range []bool{false, true} {
			if useTLS && name == "v2" {
				continue // v2 2.9 sends plain UNSIGNED-PAYLOAD over TLS, which other tests cover
			}
			s := newS3Server(t, useTLS)
			run := func(args ...string) string {
				args = append([]string{"--endpoint-url", s.URL}, args...)
				if useTLS {
					args = append(args, "--no-verify-ssl")
				}
				cmd := exec.Command(bin, args...)
				cmd.Env = env
				var out, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &stderr
				if err := cmd.Run(); err != nil {
					t.Errorf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out.String(), stderr.String())
				}
				return out.String()
			}
			if out := run("sts", "get-caller-identity", "--output", "text"); !strings.Contains(out, "123456789012") {
				t.Errorf("%s sts get-caller-identity = %q; want the account", name, out)
			}
			run("s3", "cp", file, "s3://bkt/big.bin")
			if !useTLS {
				// v1 presigns S3 with SigV2 query parameters, v2 with SigV4.
				u := strings.TrimSpace(run("s3", "presign", "s3://bkt/dir/a b+ü.txt", "--expires-in", "300"))
				checkPresigned(t, s, name, u)
			}
			s.check(t)
			if got := s.objects["bkt/big.bin"]; !bytes.Equal(got, data) {
				t.Errorf("%s tls=%v s3 cp: object = %d bytes; want the %d bytes sent", name, useTLS, len(got), len(data))
			}
			t.Logf("%s tls=%v payload modes: %q", name, useTLS, s.modes)
		}
	}
}

// checkPresigned fetches a presigned URL from the server that verifies it, then checks that
// the same URL with another key, or after it expired, is refused.
func checkPresigned(t *testing.T, s *s3Server, cli, u string) {
	t.Helper()
	resp, err := s.Client().Get(u)
	if err != nil {
		t.Fatalf("%s presigned GET: %v", cli, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("%s presigned GET %s = %s; want 200", cli, u, resp.Status)
	}
	s.check(t)
	last := s.captures[len(s.captures)-1]
	wantVersion := map[string]string{"v1": "SigV2", "v2": "SigV4"}[cli]
	if sc, err := ReadScope(last.replay(nil)); err != nil || sc.SignatureVersion != wantVersion || !sc.Presigned {
		t.Errorf("%s presigned URL scope = %+v, %v; want a presigned %s URL", cli, sc, err, wantVersion)
	}
	if err := verifyAndRead(s.v, last.replay(nil)); err != nil {
		t.Errorf("%s presigned replay = %v; want verified", cli, err)
	}
	tampered := last.replay(nil)
	tampered.RequestURI = strings.Replace(tampered.RequestURI, "a%20b", "a%20c", 1)
	if err := verifyAndRead(s.v, tampered); codeOf(err) != "SignatureDoesNotMatch" {
		t.Errorf("%s presigned URL for another key = %v; want SignatureDoesNotMatch", cli, err)
	}
	late := &Verifier{Secret: s.v.Secret, Now: func() time.Time { return time.Now().Add(6 * time.Minute) }}
	if err := verifyAndRead(late, last.replay(nil)); codeOf(err) != "AccessDenied" {
		t.Errorf("%s presigned URL after expiry = %v; want AccessDenied", cli, err)
	}
}
