-- The notifier's own tables: browsers' push subscriptions, a projection of the owners' chat
-- settings (chat.owners.*.settings), the events already applied (so a redelivery changes
-- nothing), one row per room with its pending notification (coalescing), and the
-- deliveries still to be made to push services. Timestamps are microseconds since the epoch.

create table push_subscriptions (
    endpoint text primary key,
    owner_id blob not null,
    -- The browser's P-256 public key, uncompressed (65 bytes), and its auth secret (16).
    p256dh blob not null,
    auth blob not null,
    created_at integer not null,
    updated_at integer not null
);

create index push_subscriptions_owner on push_subscriptions (owner_id);

create table owner_settings (
    owner_id blob primary key,
    accepting_messages integer not null,
    quiet_until integer,
    version integer not null,
    created_at integer not null,
    updated_at integer not null
);

create table processed_events (
    event_id blob primary key,
    created_at integer not null,
    updated_at integer not null
);

create index processed_events_created on processed_events (created_at);

-- What a room still has to tell its owner: the new room itself, and the latest visitor
-- message not yet notified. `due_at` is when it goes out (null: nothing pending);
-- `next_allowed_at` the end of the room's coalescing window. `revision` moves with every
-- write, so the dispatcher changes only a row it has read.
create table push_rooms (
    room_id blob primary key,
    owner_id blob not null,
    visitor_name text not null,
    room_pending integer not null,
    message_preview text,
    message_at integer,
    due_at integer,
    next_allowed_at integer,
    revision integer not null,
    created_at integer not null,
    updated_at integer not null
);

create index push_rooms_due on push_rooms (due_at);

-- One notification for one subscription. A delivery is leased while it is being sent and
-- deleted once the push service has answered for good.
create table push_deliveries (
    id blob primary key,
    endpoint text not null references push_subscriptions (endpoint) on delete cascade,
    room_id blob not null,
    payload text not null,
    attempts integer not null,
    next_attempt_at integer not null,
    lease_until integer,
    created_at integer not null,
    updated_at integer not null
);

create index push_deliveries_next on push_deliveries (next_attempt_at);
create index push_deliveries_endpoint on push_deliveries (endpoint);
