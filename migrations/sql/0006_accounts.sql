-- 0006_accounts: people who may use trainyard, their API tokens and login
-- sessions, and who created each experiment (its runs show the same name).
-- Secrets are stored as SHA-256 (tokens, sessions) or bcrypt (passwords), never in clear.
CREATE TABLE users (
    name          TEXT      PRIMARY KEY,
    role          TEXT      NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
    password_hash TEXT      NOT NULL,
    created_at    TIMESTAMP NOT NULL
);

CREATE TABLE api_tokens (
    -- id is a short random name for the token, shown in lists and used to revoke it.
    id           TEXT      PRIMARY KEY,
    user_name    TEXT      NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    label        TEXT      NOT NULL DEFAULT '',
    token_hash   TEXT      NOT NULL UNIQUE,
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);
CREATE INDEX api_tokens_user ON api_tokens (user_name);

CREATE TABLE sessions (
    token_hash TEXT      PRIMARY KEY,
    user_name  TEXT      NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    csrf_token TEXT      NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_name);

-- created_by is the user name of whoever submitted the experiment ('' before
-- accounts, or when the server runs without them).
ALTER TABLE experiments ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
