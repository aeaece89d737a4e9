-- Conflicts (F24): a write the PDS refused because the record changed there since we read it
-- (swapRecord). Both versions are kept with the decision and when it was made.
create table sync_conflict (
    id          integer primary key autoincrement,
    owner_id    integer not null references app_user (id) on delete cascade,
    event_id    integer references event (id) on delete set null,
    collection  text    not null,
    rkey        text    not null,
    -- What Skymeet tried to write (null for a delete).
    ours        text,
    -- What the PDS held instead (null when the record was gone, or could not be read).
    theirs      text,
    theirs_cid  text,
    -- Null while open: kept_theirs (the PDS version stays) or reapplied_ours (ours written over it).
    decision    text check (decision in ('kept_theirs', 'reapplied_ours')),
    decided_at  text,
    created_at  text    not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

create index sync_conflict_record_idx on sync_conflict (owner_id, collection, rkey);
