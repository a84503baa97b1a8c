-- 0001_init: the alknet peer store schema (spec/peer-store-sqlite.md §4.2).
-- Runs inside the migration transaction together with its schema_migrations row.

PRAGMA application_id = 1634495342;

CREATE TABLE schema_migrations (
  version     INTEGER PRIMARY KEY,
  name        TEXT    NOT NULL,
  applied_at  INTEGER NOT NULL,
  applied_by  TEXT    NOT NULL
) STRICT;

CREATE TABLE store_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

CREATE TABLE change_counters (
  channel    TEXT PRIMARY KEY CHECK (channel IN ('peers','api_keys','credentials')),
  generation INTEGER NOT NULL
) STRICT;

INSERT INTO change_counters (channel, generation) VALUES ('peers', 0), ('api_keys', 0), ('credentials', 0);

CREATE TABLE peers (
  peer_id         TEXT PRIMARY KEY CHECK (length(peer_id) BETWEEN 1 AND 63),
  auth_token_hash TEXT UNIQUE CHECK (auth_token_hash IS NULL OR
                                     (length(auth_token_hash) = 71 AND auth_token_hash GLOB 'sha256:*')),
  scopes          TEXT NOT NULL DEFAULT '[]'
                  CHECK (json_valid(scopes) AND json_type(scopes) = 'array'),
  resources       TEXT NOT NULL DEFAULT '{}'
                  CHECK (json_valid(resources) AND json_type(resources) = 'object'),
  display_name    TEXT,
  enabled         INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0,1)),
  revision        INTEGER NOT NULL DEFAULT 1,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
) STRICT;

CREATE TABLE peer_fingerprints (
  fingerprint TEXT PRIMARY KEY
              CHECK (length(fingerprint) IN (72, 71) AND
                     (fingerprint GLOB 'ed25519:*' OR fingerprint GLOB 'SHA256:*')),
  peer_id     TEXT NOT NULL REFERENCES peers(peer_id) ON DELETE CASCADE ON UPDATE RESTRICT,
  added_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX peer_fingerprints_by_peer ON peer_fingerprints(peer_id);

CREATE TABLE api_keys (
  prefix      TEXT PRIMARY KEY CHECK (length(prefix) = 8 AND substr(prefix,1,4) = 'alk_'),
  hash        TEXT NOT NULL UNIQUE CHECK (length(hash) = 71 AND hash GLOB 'sha256:*'),
  scopes      TEXT NOT NULL DEFAULT '[]'
              CHECK (json_valid(scopes) AND json_type(scopes) = 'array'),
  description TEXT NOT NULL DEFAULT '',
  expires_at  INTEGER,
  created_at  INTEGER NOT NULL,
  revoked_at  INTEGER
) STRICT;

CREATE TABLE credentials (
  provider    TEXT PRIMARY KEY CHECK (length(provider) BETWEEN 1 AND 128),
  key_version INTEGER NOT NULL CHECK (key_version >= 1),
  salt        BLOB NOT NULL CHECK (length(salt) <= 64),
  iv          BLOB NOT NULL CHECK (length(iv) = 12),
  data        BLOB NOT NULL CHECK (length(data) >= 16),
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX credentials_by_version ON credentials(key_version);

CREATE TABLE audit_events (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  at      INTEGER NOT NULL,
  actor   TEXT NOT NULL,
  action  TEXT NOT NULL,
  entity  TEXT NOT NULL,
  detail  TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail))
) STRICT;

CREATE TRIGGER peers_ai AFTER INSERT ON peers
BEGIN UPDATE change_counters SET generation = generation + 1 WHERE channel = 'peers'; END;
CREATE TRIGGER peers_au AFTER UPDATE ON peers
BEGIN UPDATE change_counters SET generation = generation + 1 WHERE channel = 'peers'; END;
CREATE TRIGGER peers_ad AFTER DELETE ON peers
BEGIN UPDATE change_counters SET generation = generation + 1 WHERE channel = 'peers'; END;

CREATE TRIGGER peer_fingerprints_ai AFTER INSERT ON peer_fingerprints
BEGIN UPDATE change_counters SET generation = generation + 1 WHERE channel = 'peers'; END;
CREATE TRIGGER peer_fingerprints_au AFTER UPDATE ON peer_fingerprints
BEGIN UPDATE change_counters SET generation = generation + 1 WHERE channel = 'peers'; END;
CREATE TRIGGER peer_fingerprints_ad AFTER DELETE ON peer_fingerprints
BEGIN UPDATE change_counters SET generation = generation + 1 WHERE channel = 'peers'; END;

CREATE TRIGGER api_keys_ai AFTER INSERT ON api_keys
BEGIN UPDATE change_counters SET generation = generation + 1 WHERE channel = 'api_keys'; END;
CREATE TRIGGER api_keys_au AFTER UPDATE ON api_keys
BEGIN UPDATE change_counters SET generation = generation + 1 WHERE channel = 'api_keys'; END;
CREATE TRIGGER api_keys_ad AFTER DELETE ON api_keys
BEGIN UPDATE change_counters SET generation = generation + 1 WHERE channel = 'api_keys'; END;

CREATE TRIGGER credentials_ai AFTER INSERT ON credentials
BEGIN UPDATE change_counters SET generation = generation + 1 WHERE channel = 'credentials'; END;
CREATE TRIGGER credentials_au AFTER UPDATE ON credentials
BEGIN UPDATE change_counters SET generation = generation + 1 WHERE channel = 'credentials'; END;
CREATE TRIGGER credentials_ad AFTER DELETE ON credentials
BEGIN UPDATE change_counters SET generation = generation + 1 WHERE channel = 'credentials'; END;

-- Cascade that also works when foreign keys are off (the sqlite3 shell's default), PSTORE-R79.
CREATE TRIGGER peers_delete_fingerprints AFTER DELETE ON peers
BEGIN DELETE FROM peer_fingerprints WHERE peer_id = OLD.peer_id; END;
