-- The owner's controls: a room can be blocked (it is then closed too), and a blocked visitor
-- cannot open a new room with the owner from the same browser (`visitor_key`) or the same
-- address for a while. Both are kept as keyed hashes: the room remembers them so that a block
-- can name them, and nothing else about the visitor is stored.
alter table rooms add column is_blocked integer not null default 0;
alter table rooms add column visitor_key_hash text;
alter table rooms add column visitor_address_hash text;

create table visitor_blocks (
    owner_id blob not null,
    -- `key:<hash>` or `address:<hash>`.
    visitor text not null,
    room_id blob not null,
    expires_at integer not null,
    created_at integer not null,
    primary key (owner_id, visitor)
);
create index visitor_blocks_room on visitor_blocks (room_id);

-- An owner's chat settings; an owner without a row accepts messages and has no quiet hours.
create table owner_settings (
    owner_id blob primary key,
    accepting_messages integer not null,
    quiet_until integer,
    version integer not null,
    updated_at integer not null
);
