package notify

import "testing"

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://user:pa55@example.com/hook?x=1", "https://user:****@example.com/hook?x=1"},
		{"http://user:p%40ss@example.com", "http://user:****@example.com"},
		{"smtp://relay:s3cret@mail.example.com:587", "smtp://relay:****@mail.example.com:587"},
		{"smtp://relay:s3cret@mail.example.com:bad port", "smtp://relay:****@mail.example.com:bad port"},
		{"https://user@example.com/x", "https://user@example.com/x"},
		{"https://example.com/a@b", "https://example.com/a@b"},
		{"https://example.com/path?u=a:b@c", "https://example.com/path?u=a:b@c"},
		{"ops@example.com", "ops@example.com"},
		{"", ""},
	} {
		if got := RedactURL(tc.in); got != tc.want {
			t.Errorf("RedactURL(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}
