-- Owners as chat-gateway knows them: a projection of accounts.* events, never read from
-- accounts-api's database.
create table owners (
    id uuid primary key,
    is_registered boolean not null,
    is_profile_public boolean not null,
    version bigint not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create table rooms (
    id uuid primary key,
    owner_id uuid not null,
    visitor_name text not null default '',
    visitor_token_hash text not null,
    is_active boolean not null default true,
    last_message_id uuid,
    last_message_sender text,
    last_message_content text,
    last_message_at timestamptz,
    unread_count bigint not null default 0,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

-- The owner's inbox, polled every few seconds. An owner has a handful of rooms, so they are
-- sorted by activity after the index lookup; leaving `updated_at` out of the index keeps the
-- update that every message makes to its room a cheap heap-only (HOT) update.
create index rooms_owner on rooms (owner_id);

create table messages (
    id uuid primary key,
    room_id uuid not null references rooms (id),
    sender_type text not null check (sender_type in ('visitor', 'owner')),
    content text not null,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create index messages_room_order on messages (room_id, created_at, id);

-- Small key/value state, e.g. the durable consumer name of the owner projection.
create table projection_state (
    name text primary key,
    value text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

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
