-- Who may see an event: everyone (listed and searchable), whoever has its link (unlisted), or only
-- its organiser and the people they invited (private). Only events kept on Skymeet can be other
-- than public: a record on a PDS is public to the whole network. (SQLite cannot add a table
-- constraint to an existing table; the column's own check covers the values, and the store
-- writes a non-public visibility only on local events.)
alter table event add column visibility text not null default 'public'
    check (visibility in ('public', 'unlisted', 'private'));

-- The secret part of a private event's invitation link (`?invite=`); a new one shuts out whoever
-- had the old link and is not a guest yet.
alter table event add column invite_code text;

-- The people an organiser let into a private event (by its invitation link).
create table event_guest (
    event_id   integer not null references event (id) on delete cascade,
    user_id    integer not null references app_user (id) on delete cascade,
    created_at text    not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    primary key (event_id, user_id)
);
create index event_guest_user_idx on event_guest (user_id);

-- Answers given on Skymeet only: by people without Bluesky, and to events kept here (which have
-- no record to answer). One per person per event; counted beside the RSVP records.
create table local_rsvp (
    user_id    integer not null references app_user (id) on delete cascade,
    event_id   integer not null references event (id) on delete cascade,
    status     text    not null,
    created_at text    not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at text    not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    primary key (user_id, event_id),
    constraint local_rsvp_status_check check (status in ('going', 'interested', 'notgoing'))
);
create index local_rsvp_event_idx on local_rsvp (event_id);

create trigger local_rsvp_set_updated_at after update on local_rsvp
    for each row when new.updated_at = old.updated_at
begin
    update local_rsvp set updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
        where user_id = new.user_id and event_id = new.event_id;
end;
