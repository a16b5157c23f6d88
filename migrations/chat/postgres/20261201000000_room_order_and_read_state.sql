-- A room's messages have one order, `position`: 1, 2, 3… taken from the room's message count
-- while the commit holds the room row's lock, so two replicas committing into one room are
-- ordered by their commits, not by clocks stamped before them. History, live delivery and
-- recovery (`?after=`) all follow it.
alter table messages add column position bigint;
update messages set position = ordered.position
from (
    select id, row_number() over (partition by room_id order by created_at, id) as position
    from messages
) as ordered
where messages.id = ordered.id;
alter table messages alter column position set not null;
create unique index messages_room_position on messages (room_id, position);
drop index messages_room_order;
update rooms set message_count = (select count(*) from messages where messages.room_id = rooms.id);

-- The id a client gave its message: a resend (after a lost acknowledgement, or to another
-- replica) finds the stored message instead of storing it twice.
alter table messages add column client_id uuid;
create unique index messages_room_client on messages (room_id, client_id) where client_id is not null;

-- What each side has read. The visitor's is shown to the owner ("seen"); the owner's bounds
-- `unread_count`. Positions only move forward.
alter table rooms add column visitor_last_read_id uuid;
alter table rooms add column visitor_read_position bigint not null default 0;
alter table rooms add column owner_read_position bigint not null default 0;
