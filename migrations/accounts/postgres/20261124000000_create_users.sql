-- Stickers and their owners. A row exists from the moment a sticker is issued; registration
-- fills in the phone number and password hash.
create table users (
    id uuid primary key,
    phone_number text unique,
    password_hash text,
    full_name text not null default '',
    phone_number_2 text not null default '',
    car_model text not null default '',
    car_plate_number text not null default '',
    instagram text not null default '',
    telegram text not null default '',
    whatsapp text not null default '',
    is_profile_public boolean not null default true,
    is_registered boolean not null default false,
    registered_at timestamptz,
    version bigint not null default 0,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create index users_public_listing on users (registered_at, id)
    where is_registered and is_profile_public;

-- Refresh tokens already exchanged while rotation is on (SimpleJWT's blacklist).
create table used_refresh_tokens (
    jti text primary key,
    expires_at timestamptz not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create index used_refresh_tokens_expiry on used_refresh_tokens (expires_at);

-- Transactional outbox: events committed with the change, published by the relay.
create table outbox (
    seq bigserial primary key,
    event_id uuid not null unique,
    subject text not null,
    payload bytea not null,
    traceparent text,
    -- The replica that committed the change: its own sockets already have it.
    origin text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
