-- The messages table is the log the relay publishes `chat.rooms.<id>.messages` from, so a
-- message is written once instead of also into the outbox. A row's place in the log is
-- (tx_id, seq): the writing transaction, then the insert order within it. The relay reads
-- only rows whose transaction is older than every transaction still running
-- (pg_snapshot_xmin), so a row never appears behind its cursor after it has moved on.
alter table messages add column tx_id xid8 not null default pg_current_xact_id();
alter table messages add column seq bigint not null generated always as identity;
alter table messages add column traceparent text;
create index messages_log on messages (tx_id, seq);

-- Where the relay of the message log is, and which replica relays it (a lease).
create table message_relay (
    name text primary key,
    after_tx bigint not null,
    after_seq bigint not null,
    holder text,
    leased_until timestamptz,
    updated_at timestamptz not null
);

-- What is stored already went out through the outbox.
insert into message_relay (name, after_tx, after_seq, updated_at)
select 'messages', pg_current_xact_id()::text::bigint, coalesce(max(seq), 0), now() from messages;
