-- 0004: a call's or a resource change's stream entry names the row that holds its document
-- (stream.ref) instead of carrying a second copy: the copies were a third of what each
-- recorded call wrote. packed says how to read an entry (see streamPlain and after):
-- 2 = the record of events row ref, 3 = the doc of resource_versions row ref. The entry's
-- time equals the row's, so a row purged and its seq reused later is not mistaken for it.
ALTER TABLE stream ADD COLUMN ref INTEGER;

-- History rows get a rowid for the stream to name. A WITHOUT ROWID table also copies whole
-- rows, documents included, into its interior pages, which made the history the largest
-- part of every commit.
CREATE TABLE resource_versions_0004 (
	account TEXT NOT NULL,
	region  TEXT NOT NULL,
	type    TEXT NOT NULL,
	id      TEXT NOT NULL,
	version INTEGER NOT NULL,
	time    INTEGER NOT NULL,
	status  TEXT NOT NULL,
	doc     BLOB NOT NULL
);
INSERT INTO resource_versions_0004 (account, region, type, id, version, time, status, doc)
	SELECT account, region, type, id, version, time, status, doc FROM resource_versions ORDER BY time, account, region, type, id, version;
DROP TABLE resource_versions;
ALTER TABLE resource_versions_0004 RENAME TO resource_versions;
CREATE UNIQUE INDEX resource_versions_by_key ON resource_versions (account, region, type, id, version);
