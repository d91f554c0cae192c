-- 0005: stream seqs without AUTOINCREMENT, whose sqlite_sequence row was read and rewritten
-- by every append and one more page in every commit. A seq is still never reused: the
-- stream always keeps its newest entry (TrimStream leaves it), so a new rowid is always past
-- every seq handed out. A stream that trimming had emptied keeps its high-water mark as an
-- entry of kind stream.head, which no consumer reads.
CREATE TABLE stream_0005 (
	seq     INTEGER PRIMARY KEY,
	kind    TEXT NOT NULL,
	time    INTEGER NOT NULL,
	payload BLOB,
	packed  INTEGER NOT NULL DEFAULT 0,
	ref     INTEGER
);
INSERT INTO stream_0005 (seq, kind, time, payload, packed, ref)
	SELECT seq, kind, time, payload, packed, ref FROM stream;
INSERT INTO stream_0005 (seq, kind, time)
	SELECT seq, 'stream.head', 0 FROM sqlite_sequence
	WHERE name = 'stream' AND seq > (SELECT COALESCE(MAX(seq), 0) FROM stream);
DROP TABLE stream;
ALTER TABLE stream_0005 RENAME TO stream;
