-- Conflicts (F24): a write the PDS refused because the record changed there since we read it
-- (swapRecord). Both versions are kept with the decision and when it was made.
create table sync_conflict (
    id          bigint generated always as identity primary key,
    owner_id    bigint      not null references app_user (id) on delete cascade,
    event_id    bigint      references event (id) on delete set null,
    collection  text        not null,
    rkey        text        not null,
    -- What Skymeet tried to write (null for a delete).
    ours        jsonb,
    -- What the PDS held instead (null when the record was gone, or could not be read).
    theirs      jsonb,
    theirs_cid  text,
    -- Null while open: kept_theirs (the PDS version stays) or reapplied_ours (ours written over it).
    decision    text,
    decided_at  timestamptz,
    created_at  timestamptz not null default now(),
    constraint sync_conflict_decision_check check (decision in ('kept_theirs', 'reapplied_ours'))
);

create index sync_conflict_record_idx on sync_conflict (owner_id, collection, rkey);
