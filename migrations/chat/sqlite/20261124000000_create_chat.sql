-- Owners as chat-gateway knows them: a projection of accounts.* events, never read from
-- accounts-api's database. Timestamps are microseconds since the epoch.
create table owners (
    id blob primary key,
    is_registered integer not null,
    is_profile_public integer not null,
    version integer not null,
    created_at integer not null,
    updated_at integer not null
);

create table rooms (
    id blob primary key,
    owner_id blob not null,
    visitor_name text not null default '',
    visitor_token_hash text not null,
    is_active integer not null default 1,
    last_message_id blob,
    last_message_sender text,
    last_message_content text,
    last_message_at integer,
    unread_count integer not null default 0,
    created_at integer not null,
    updated_at integer not null
);

-- The owner's inbox, polled every few seconds. An owner has a handful of rooms, so they are
-- sorted by activity after the index lookup; leaving `updated_at` out of the index keeps the
-- update that every message makes to its room a cheap heap-only (HOT) update.
create index rooms_owner on rooms (owner_id);

create table messages (
    id blob primary key,
    room_id blob not null references rooms (id),
    sender_type text not null check (sender_type in ('visitor', 'owner')),
    content text not null,
    created_at integer not null,
    updated_at integer not null
);

create index messages_room_order on messages (room_id, created_at, id);

-- Small key/value state, e.g. the durable consumer name of the owner projection.
create table projection_state (
    name text primary key,
    value text not null,
    created_at integer not null,
    updated_at integer not null
);

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
