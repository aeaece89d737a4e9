-- The private feed of what a person answered going or interested to
-- (/feeds/{calendar_token}/going.ics): whoever holds the token reads it, so it is long and random,
-- and the person can replace it (the old link then stops working). No token until they ask for one.
alter table app_user add column calendar_token text;
create unique index app_user_calendar_token_idx on app_user (calendar_token);
