-- A dead letter that carries a record names it, so a replay can read it again from its PDS; one
-- dead letter per record (the latest failure), however often it failed.
alter table dead_letter add column uri text;
create unique index dead_letter_uri_key on dead_letter (uri) where uri is not null;

-- Reconciliation runs (F25): what each found and repaired, for the admin dashboard.
create table reconcile_report (
    id             bigint generated always as identity primary key,
    trigger        text        not null,
    started_at     timestamptz not null,
    finished_at    timestamptz,
    repos          integer     not null default 0,
    -- On a PDS and not cached: added.
    missing        integer     not null default 0,
    -- Cached with another CID than the PDS holds: updated (the PDS wins).
    stale          integer     not null default 0,
    -- Cached but gone from the PDS: removed.
    deleted        integer     not null default 0,
    -- Written here, not accepted by the PDS yet: left to the pending-write worker.
    unpublished    integer     not null default 0,
    errors         jsonb       not null default '[]',
    constraint reconcile_report_trigger_check check (trigger in ('periodic', 'admin'))
);

create index reconcile_report_started_at_idx on reconcile_report (started_at);
