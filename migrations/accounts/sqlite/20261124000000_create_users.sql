-- Stickers and their owners. A row exists from the moment a sticker is issued; registration
-- fills in the phone number and password hash. Timestamps are microseconds since the epoch.
create table users (
    id blob primary key,
    phone_number text unique,
    password_hash text,
    full_name text not null default '',
    phone_number_2 text not null default '',
    car_model text not null default '',
    car_plate_number text not null default '',
    instagram text not null default '',
    telegram text not null default '',
    whatsapp text not null default '',
    is_profile_public integer not null default 1,
    is_registered integer not null default 0,
    registered_at integer,
    version integer not null default 0,
    created_at integer not null,
    updated_at integer not null
);

create index users_public_listing on users (registered_at, id)
    where is_registered and is_profile_public;

-- Refresh tokens already exchanged while rotation is on (SimpleJWT's blacklist).
create table used_refresh_tokens (
    jti text primary key,
    expires_at integer not null,
    created_at integer not null,
    updated_at integer not null
);

create index used_refresh_tokens_expiry on used_refresh_tokens (expires_at);

-- Transactional outbox: events committed with the change, published by the relay.
create table outbox (
    seq integer primary key autoincrement,
    event_id blob not null unique,
    subject text not null,
    payload blob not null,
    traceparent text,
    -- The replica that committed the change: its own sockets already have it.
    origin text,
    created_at integer not null,
    updated_at integer not null
);
