-- Readable addresses (F45): an event's or a series' address is `{slug}-{id in base 36}`, such as
-- /events/weekly-rust-meetup-2bx. `slug` holds the words, made from the name when the row is first
-- stored and never changed after, so a renamed event keeps its address. Rows stored before this
-- migration get theirs when the server starts (the words are transliterated in Rust, not SQL);
-- the partial indexes find the rows still waiting.
alter table event add column slug text;
alter table series add column slug text;

create index event_slug_missing_idx on event (id) where slug is null;
create index series_slug_missing_idx on series (id) where slug is null;
