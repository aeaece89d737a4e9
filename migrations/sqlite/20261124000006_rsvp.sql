-- RSVPs (community.lexicon.calendar.rsvp) from the firehose, kept whether or not their event is
-- known yet (F21): they link to it by the subject's at-uri.
create table rsvp (
    id             integer primary key autoincrement,
    owner_id       integer not null references app_user (id) on delete cascade,
    at_uri         text    not null,
    subject_uri    text    not null,
    subject_cid    text,
    status         text    not null,
    cid            text    not null,
    rev            text    not null default '',
    record         text    not null,
    created_at     text    not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at     text    not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    constraint rsvp_at_uri_key unique (at_uri)
);

create index rsvp_subject_uri_idx on rsvp (subject_uri);

create trigger rsvp_set_updated_at after update on rsvp
    for each row when new.updated_at = old.updated_at
begin
    update rsvp set updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') where id = new.id;
end;
