-- The messages table is the log the relay publishes `chat.rooms.<id>.messages` from, so a
-- message is written once instead of also into the outbox. SQLite has one writer, so the
-- insert order (`seq`, given by the insert) is the commit order; `tx_id` stays 0.
alter table messages add column seq integer not null default 0;
alter table messages add column traceparent text;
update messages set seq = rowid;
create index messages_log on messages (seq);

-- Where the relay of the message log is, and which process relays it (a lease).
create table message_relay (
    name text primary key,
    after_tx integer not null,
    after_seq integer not null,
    holder text,
    leased_until integer,
    updated_at integer not null
);

-- What is stored already went out through the outbox.
insert into message_relay (name, after_tx, after_seq, updated_at)
select 'messages', 0, coalesce(max(seq), 0), 0 from messages;
