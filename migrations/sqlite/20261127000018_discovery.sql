-- Discovery: finding events by words, dates, how people attend, status and place.
--
-- What searches filter on is read from the record once, when the event is stored (in Rust, where
-- a stranger's record is checked): `mode` and `status` as the lexicon names them without their
-- prefix (`inperson`, `cancelled`), `place` as the words of every place the record names, and the
-- first point on the globe it names. Rows stored before this migration have `place` null until the
-- server's start-up reads their records (the partial index finds them).
alter table event add column mode text;
alter table event add column status text;
alter table event add column place text;
alter table event add column latitude real;
alter table event add column longitude real;

-- Full-text search over name, description and places (FTS5 reading its text from `event`), with
-- Porter stemming and accents folded. Results rank by BM25 with the name weighing most, then the
-- places, then the description. The triggers keep the index in step with the table.
create virtual table event_fts using fts5(
    name, description, place,
    content = 'event', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
insert into event_fts (event_fts, rank) values ('rank', 'bm25(10.0, 2.0, 5.0)');
insert into event_fts (event_fts) values ('rebuild');

create trigger event_fts_after_insert after insert on event begin
    insert into event_fts (rowid, name, description, place) values (new.id, new.name, new.description, new.place);
end;
create trigger event_fts_after_delete after delete on event begin
    insert into event_fts (event_fts, rowid, name, description, place)
        values ('delete', old.id, old.name, old.description, old.place);
end;
create trigger event_fts_after_update after update of name, description, place on event begin
    insert into event_fts (event_fts, rowid, name, description, place)
        values ('delete', old.id, old.name, old.description, old.place);
    insert into event_fts (rowid, name, description, place) values (new.id, new.name, new.description, new.place);
end;

-- Listings by date read the start index in order from a point (keyset pagination): the id breaks
-- ties, and the end and the coordinates ride along so that events already over, or far from a
-- place asked for ("near"), are skipped without reading rows.
drop index event_starts_at_idx;
create index event_starts_at_idx on event (starts_at, id, ends_at, latitude, longitude);
create index event_undated_idx on event (id) where starts_at is null;
-- A person's events by date.
drop index event_owner_id_idx;
create index event_owner_starts_idx on event (owner_id, starts_at, id);
create index event_place_missing_idx on event (id) where place is null;

-- Importing what the network holds: a relay lists the repos that hold calendar records
-- (`com.atproto.sync.listReposByCollection`), then each repo is read through its own PDS. Both
-- steps are written down as they go, so an import resumes where it stopped after a restart.
create table network_import (
    id          integer primary key autoincrement,
    relay       text not null,
    started_at  text not null,
    finished_at text,
    -- The collection being listed and the relay's cursor in it; `listing` is null once every
    -- collection is listed.
    listing     text,
    cursor      text
);

create table import_repo (
    import_id  integer not null references network_import (id) on delete cascade,
    did        text not null,
    -- queued, done or failed
    state      text not null default 'queued',
    attempts   integer not null default 0,
    -- Records the repo added or changed in the cache.
    records    integer not null default 0,
    last_error text,
    primary key (import_id, did)
);
create index import_repo_state_idx on import_repo (import_id, state);
