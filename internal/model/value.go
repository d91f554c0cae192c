package model

// A value tree is how an operation's input or output travels between codecs, validation,
// handlers and the audit record, whatever the protocol:
//
//	structure  map[string]any, keyed by member name (not locationName)
//	list       []any
//	map        map[string]any
//	string     string (enums too)
//	integer    int64 (integer and long)
//	float      float64 (float and double)
//	boolean    bool
//	timestamp  time.Time
//	blob       []byte; a streaming blob is an io.Reader in a request, io.ReadCloser in a response
//	document   any, as encoding/json would decode it
//
// Absent members are absent keys; a nil value never appears.
