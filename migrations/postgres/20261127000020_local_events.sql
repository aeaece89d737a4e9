-- Who may see an event: everyone (listed and searchable), whoever has its link (unlisted), or only
-- its organiser and the people they invited (private). Only events kept on Skymeet can be other
-- than public: a record on a PDS is public to the whole network.
alter table event add column visibility text not null default 'public';
alter table event add constraint event_visibility_check check (visibility in ('public', 'unlisted', 'private'));
alter table event add constraint event_hidden_only_here
    check (visibility = 'public' or source_type = 'local');

-- The secret part of a private event's invitation link (`?invite=`); a new one shuts out whoever
-- had the old link and is not a guest yet.
alter table event add column invite_code text;

-- The people an organiser let into a private event (by its invitation link).
create table event_guest (
    event_id   bigint      not null references event (id) on delete cascade,
    user_id    bigint      not null references app_user (id) on delete cascade,
    created_at timestamptz not null default now(),
    primary key (event_id, user_id)
);
create index event_guest_user_idx on event_guest (user_id);

-- Answers given on Skymeet only: by people without Bluesky, and to events kept here (which have
-- no record to answer). One per person per event; counted beside the RSVP records.
create table local_rsvp (
    user_id    bigint      not null references app_user (id) on delete cascade,
    event_id   bigint      not null references event (id) on delete cascade,
    status     text        not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (user_id, event_id),
    constraint local_rsvp_status_check check (status in ('going', 'interested', 'notgoing'))
);
create index local_rsvp_event_idx on local_rsvp (event_id);

create trigger local_rsvp_set_updated_at before update on local_rsvp
    for each row execute function set_updated_at();
