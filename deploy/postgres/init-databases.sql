-- One database per service: each owns its tables and never reads the other's.
-- The postgres image runs this once, on an empty data directory, as POSTGRES_USER, which
-- therefore owns all three. Each service applies its own migrations at start-up.
create database carinfo_accounts;
create database carinfo_chat;
create database carinfo_notifier;
