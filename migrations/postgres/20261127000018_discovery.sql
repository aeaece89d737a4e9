-- Discovery: finding events by words, dates, how people attend, status and place.
--
-- What searches filter on is read from the record once, when the event is stored (in Rust, where
-- a stranger's record is checked): `mode` and `status` as the lexicon names them without their
-- prefix (`inperson`, `cancelled`), `place` as the words of every place the record names, and the
-- first point on the globe it names. Rows stored before this migration have `place` null until the
-- server's start-up reads their records (the partial index finds them).
alter table event
    add column mode text,
    add column status text,
    add column place text,
    add column latitude double precision,
    add column longitude double precision;

-- Full-text search over name (weight A), places (B) and description (C), with English stemming.
-- The engine keeps it in step with the columns.
alter table event add column search tsvector generated always as (
    setweight(to_tsvector('english', name), 'A')
    || setweight(to_tsvector('english', coalesce(place, '')), 'B')
    || setweight(to_tsvector('english', coalesce(description, '')), 'C')
) stored;
create index event_search_idx on event using gin (search);

-- Listings by date read the start index in order from a point (keyset pagination): the id breaks
-- ties, and the end and the coordinates ride along so that events already over, or far from a
-- place asked for ("near"), are skipped without reading rows.
drop index event_starts_at_idx;
create index event_starts_at_idx on event (starts_at, id) include (ends_at, latitude, longitude);
create index event_undated_idx on event (id) where starts_at is null;
-- A person's events by date.
drop index event_owner_id_idx;
create index event_owner_starts_idx on event (owner_id, starts_at, id);
create index event_place_missing_idx on event (id) where place is null;

-- Importing what the network holds: a relay lists the repos that hold calendar records
-- (`com.atproto.sync.listReposByCollection`), then each repo is read through its own PDS. Both
-- steps are written down as they go, so an import resumes where it stopped after a restart.
create table network_import (
    id          bigserial primary key,
    relay       text not null,
    started_at  timestamptz not null,
    finished_at timestamptz,
    -- The collection being listed and the relay's cursor in it; `listing` is null once every
    -- collection is listed.
    listing     text,
    cursor      text
);

create table import_repo (
    import_id  bigint not null references network_import (id) on delete cascade,
    did        text not null,
    -- queued, done or failed
    state      text not null default 'queued',
    attempts   integer not null default 0,
    -- Records the repo added or changed in the cache.
    records    bigint not null default 0,
    last_error text,
    primary key (import_id, did)
);
create index import_repo_state_idx on import_repo (import_id, state);
