-- packed = 1 marks a stream payload stored S2-compressed (see packStream): the in-memory
-- tail keeps payloads as appended; only the database copy is compressed.
ALTER TABLE stream ADD COLUMN packed INTEGER NOT NULL DEFAULT 0;
