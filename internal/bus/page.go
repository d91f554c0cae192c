package bus

import (
	"encoding/base64"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// defaultLimit is the page size of List operations called without Limit.
const defaultLimit = 100

// tokenPrefix marks bannin's pagination tokens, so that a token from elsewhere is refused.
const tokenPrefix = "bus1:"

// paginate returns the page of the sorted keys that follows token, and the token of the
// next page (nil on the last page). A token is the last key of the previous page.
func paginate(keys []string, token *string, limit *int32) ([]string, *string, error) {
	start := 0
	if t := aws.ToString(token); t != "" {
		raw, err := base64.RawURLEncoding.DecodeString(t)
		if err != nil || !strings.HasPrefix(string(raw), tokenPrefix) {
			return nil, nil, errf("ValidationException", "The NextToken provided is not valid.")
		}
		last := strings.TrimPrefix(string(raw), tokenPrefix)
		start = sort.SearchStrings(keys, last)
		if start < len(keys) && keys[start] == last {
			start++
		}
	}
	n := defaultLimit
	if limit != nil && *limit > 0 {
		n = int(*limit)
	}
	end := start + n
	if end >= len(keys) {
		return keys[start:], nil, nil
	}
	next := base64.RawURLEncoding.EncodeToString([]byte(tokenPrefix + keys[end-1]))
	return keys[start:end], &next, nil
}
