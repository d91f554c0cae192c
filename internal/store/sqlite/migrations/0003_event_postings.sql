-- 0003: the event history's lookup index becomes block postings (see postings.go): one row per
-- distinct (scope, attribute, value) of a block of consecutive events, instead of one B-tree
-- entry per event per attribute. Existing events are indexed when the store opens.
DROP INDEX events_by_time;
DROP INDEX events_by_name;
DROP INDEX events_by_source;
DROP INDEX events_by_user;
DROP INDEX events_by_key;
DROP INDEX events_by_readonly;
DROP TABLE event_resources;

-- Event ids are unique per day of event time: a re-delivered record has its original time,
-- and an import then touches the part of the index of the days it imports instead of pages
-- all over it (random UUIDs), which is most of what its commits write. LookupEvents by
-- EventId probes each day of its time range (eventDay).
DROP INDEX events_by_event_id;
CREATE UNIQUE INDEX events_by_event_id ON events (time / 86400000000000, event_id);

-- A posting row names the list of the block's events with this value (event_lists.id);
-- mintime and maxtime bound their times. The lists live apart so that the rows a lookup
-- scans for a value stay a few dozen bytes each.
CREATE TABLE event_postings (
	scope   INTEGER NOT NULL,
	attr    INTEGER NOT NULL,
	value   TEXT NOT NULL,
	block   INTEGER NOT NULL,
	mintime INTEGER NOT NULL,
	maxtime INTEGER NOT NULL,
	list    INTEGER NOT NULL,
	PRIMARY KEY (scope, attr, value, block)
) WITHOUT ROWID;

-- The events of a posting, newest first, as (time, seq) pairs (encodePostings).
CREATE TABLE event_lists (
	id       INTEGER PRIMARY KEY,
	postings BLOB NOT NULL
);

-- The account, region and category of each scope hash that events have, for lookups
-- without account or region (they read the postings of every matching scope).
CREATE TABLE event_scopes (
	scope    INTEGER PRIMARY KEY,
	account  TEXT NOT NULL,
	region   TEXT NOT NULL,
	category TEXT NOT NULL
);

-- A block is the events with seq from block to last; events after the newest block's last
-- are not indexed yet (the tail).
CREATE TABLE event_blocks (
	block   INTEGER PRIMARY KEY,
	last    INTEGER NOT NULL,
	mintime INTEGER NOT NULL,
	maxtime INTEGER NOT NULL
);
