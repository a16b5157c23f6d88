-- The relay claims events with a short lease instead of holding a transaction open across
-- the broker round trip; an event the broker refuses is parked, kept here, and skipped.
alter table outbox add column claimed_until timestamptz;
alter table outbox add column parked_at timestamptz;
alter table outbox add column parked_reason text;
