-- Rooms are bounded (ROOM_MAX_MESSAGES): the count travels with the room row that every
-- handshake reads anyway, and each commit adds its batch to it.
alter table rooms add column message_count bigint not null default 0;

update rooms set message_count = (select count(*) from messages where messages.room_id = rooms.id);
