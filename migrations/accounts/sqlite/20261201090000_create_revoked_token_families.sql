-- Refresh-token families (one per login, carried through every rotation) that may no longer
-- refresh: a rotated-away token was presented again (reuse), or the owner logged out.
-- `used_refresh_tokens` now also holds logged-out tokens: it is the blacklist of single
-- tokens, this table the blacklist of whole families. Rows of both are deleted once past
-- `expires_at`, when no token they name can verify any more. Timestamps are microseconds.
create table revoked_token_families (
    family text primary key,
    expires_at integer not null,
    created_at integer not null,
    updated_at integer not null
);

create index revoked_token_families_expiry on revoked_token_families (expires_at);
