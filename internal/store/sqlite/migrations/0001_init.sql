-- 0001: resources with history, event history, stream, checkpoints, key-value space.
-- Times are INTEGER Unix nanoseconds (UTC).

-- Current state of every resource ever recorded; deleted ones keep their row (deleted = 1) so
-- the version counter continues if the resource is re-created.
CREATE TABLE resources (
	account TEXT NOT NULL,
	region  TEXT NOT NULL,
	type    TEXT NOT NULL,
	id      TEXT NOT NULL,
	arn     TEXT NOT NULL,
	name    TEXT NOT NULL,
	config  BLOB,
	tags    TEXT,
	version INTEGER NOT NULL,
	created INTEGER NOT NULL,
	updated INTEGER NOT NULL,
	deleted INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (account, region, type, id)
) WITHOUT ROWID;

-- FindResources (type, id in any account/region) and ListResources across accounts/regions.
CREATE INDEX resources_by_type_id ON resources (type, id, account, region);

-- Every version of every resource: the configuration history. doc is the ResourceChange JSON.
CREATE TABLE resource_versions (
	account TEXT NOT NULL,
	region  TEXT NOT NULL,
	type    TEXT NOT NULL,
	id      TEXT NOT NULL,
	version INTEGER NOT NULL,
	time    INTEGER NOT NULL,
	status  TEXT NOT NULL,
	doc     BLOB NOT NULL,
	PRIMARY KEY (account, region, type, id, version)
) WITHOUT ROWID;

-- CloudTrail event history. seq orders events of equal time and is the join key of the
-- resource side tables. scope is a 63-bit hash of (account, region, category) (see
-- eventScope): LookupEvents always names all three, and one small integer instead of three
-- strings keeps every index entry short. Every single-valued LookupEvents attribute has a
-- composite index (scope, attribute, time): an equality prefix then a time range, read
-- backwards for newest first (the rowid seq is the index's implicit last column). account,
-- region and category are re-checked on the row, so a hash collision cannot mix scopes.
CREATE TABLE events (
	seq           INTEGER PRIMARY KEY,
	scope         INTEGER NOT NULL,
	event_id      TEXT NOT NULL,
	time          INTEGER NOT NULL,
	account       TEXT NOT NULL,
	region        TEXT NOT NULL,
	category      TEXT NOT NULL,
	event_name    TEXT NOT NULL,
	event_source  TEXT NOT NULL,
	username      TEXT NOT NULL,
	access_key_id TEXT NOT NULL,
	read_only     INTEGER NOT NULL,
	resources     TEXT,
	record        BLOB
);
CREATE UNIQUE INDEX events_by_event_id ON events (event_id);
CREATE INDEX events_by_time ON events (scope, time);
CREATE INDEX events_by_name ON events (scope, event_name, time);
CREATE INDEX events_by_source ON events (scope, event_source, time);
CREATE INDEX events_by_user ON events (scope, username, time);
CREATE INDEX events_by_key ON events (scope, access_key_id, time);
CREATE INDEX events_by_readonly ON events (scope, read_only, time);

-- The multi-valued attributes: one row per distinct resource type (attr 0) and resource name
-- (attr 1) of an event, keyed so that a lookup is one primary-key range, joined to events by
-- seq.
CREATE TABLE event_resources (
	scope INTEGER NOT NULL,
	attr  INTEGER NOT NULL,
	value TEXT NOT NULL,
	time  INTEGER NOT NULL,
	seq   INTEGER NOT NULL,
	PRIMARY KEY (scope, attr, value, time, seq)
) WITHOUT ROWID;

-- The durable ordered stream. AUTOINCREMENT: a Seq is never reused, even after trimming.
CREATE TABLE stream (
	seq     INTEGER PRIMARY KEY AUTOINCREMENT,
	kind    TEXT NOT NULL,
	time    INTEGER NOT NULL,
	payload BLOB
);

CREATE TABLE checkpoints (
	consumer TEXT PRIMARY KEY,
	seq      INTEGER NOT NULL,
	updated  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE kv (
	bucket TEXT NOT NULL,
	key    TEXT NOT NULL,
	value  BLOB NOT NULL,
	PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
