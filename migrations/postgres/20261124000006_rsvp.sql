-- RSVPs (community.lexicon.calendar.rsvp) from the firehose, kept whether or not their event is
-- known yet (F21): they link to it by the subject's at-uri.
create table rsvp (
    id             bigint generated always as identity primary key,
    owner_id       bigint      not null references app_user (id) on delete cascade,
    at_uri         text        not null,
    subject_uri    text        not null,
    subject_cid    text,
    status         text        not null,
    cid            text        not null,
    rev            text        not null default '',
    record         jsonb       not null,
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now(),
    constraint rsvp_at_uri_key unique (at_uri)
);

create index rsvp_subject_uri_idx on rsvp (subject_uri);

create trigger rsvp_set_updated_at before update on rsvp
    for each row execute function set_updated_at();
