-- The relay skips events the broker refused: they are parked, kept here (microseconds since
-- the epoch, as every SQLite timestamp). One process relays, so SQLite needs no lease.
alter table outbox add column parked_at integer;
alter table outbox add column parked_reason text;
