-- Recurring series (F27, F28). A series keeps its rule, not its occurrences: they are expanded
-- from the rule when needed. Only what is particular to one occurrence has a row of its own.
create table series (
    id              integer primary key autoincrement,
    owner_id        integer not null references app_user (id) on delete cascade,
    -- The RRULE line (RFC 5545, without DTSTART), e.g. FREQ=WEEKLY;BYDAY=TU;COUNT=10, as the
    -- organiser's form wrote it.
    rule            text    not null,
    -- The first occurrence as the form checked it (an EventDraft): its start in its time zone is
    -- the rule's DTSTART, whose wall time every occurrence keeps across daylight-saving changes;
    -- its length is every occurrence's; the rest (name, description, mode, places, links) is
    -- what every occurrence's record says.
    draft           text    not null,
    status          text    not null default 'active',
    -- When the scheduler next looks at the series (when its published occurrence is over). An
    -- instance claims a due series by moving this forward (compare-and-set), like a pending write.
    next_check_at   text    not null,
    created_at      text    not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at      text    not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    constraint series_status_check check (status in ('active', 'cancelled'))
);

create index series_owner_idx on series (owner_id);
create index series_due_idx on series (status, next_check_at);

create trigger series_set_updated_at after update on series
    for each row when new.updated_at = old.updated_at
begin
    update series set updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') where id = new.id;
end;

-- What belongs to one occurrence, once anything does: the record key chosen before it is first
-- published (so a retry never makes a second record; the event, once there, has the at-uri made
-- of the owner's DID and this key), whether it was published (then it is never created again:
-- if its record goes, someone deleted it), and whether the organiser cancelled it.
-- `starts_at` is the start the rule gives it (iCalendar's RECURRENCE-ID).
create table series_occurrence (
    id          integer primary key autoincrement,
    series_id   integer not null references series (id) on delete cascade,
    starts_at   text    not null,
    rkey        text    not null,
    published   integer not null default 0,
    cancelled   integer not null default 0,
    constraint series_occurrence_key unique (series_id, starts_at)
);

create index series_occurrence_rkey_idx on series_occurrence (rkey);
