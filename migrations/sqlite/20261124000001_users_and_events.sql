-- Timestamps are RFC 3339 text in UTC, the format sqlx writes for chrono::DateTime<Utc>.

create table app_user (
    id           integer primary key autoincrement,
    did          text,
    handle       text,
    display_name text,
    avatar_url   text,
    provider     text not null,
    created_at   text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at   text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    constraint app_user_did_key unique (did),
    constraint app_user_provider_check check (provider in ('bluesky', 'local')),
    constraint app_user_bluesky_has_did check (provider <> 'bluesky' or did is not null)
);

create trigger app_user_set_updated_at after update on app_user
    for each row when new.updated_at = old.updated_at
begin
    update app_user set updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') where id = new.id;
end;

create table event (
    id             integer primary key autoincrement,
    owner_id       integer references app_user (id) on delete cascade,
    name           text not null,
    description    text,
    starts_at      text,
    ends_at        text,
    time_zone      text not null default 'UTC',
    -- Source tracking (F11): where the event comes from and how it stands against that source.
    source_type    text not null,
    source_id      text,
    source_url     text,
    source_data    text not null default '{}',
    last_synced_at text,
    at_uri         text,
    rkey           text,
    cid            text,
    sync_status    text not null,
    created_at     text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at     text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    constraint event_at_uri_key unique (at_uri),
    constraint event_source_type_check check (source_type in ('local', 'bluesky')),
    constraint event_sync_status_check check (sync_status in ('local', 'pending', 'in_sync', 'conflict', 'failed')),
    constraint event_name_not_blank check (length(trim(name)) > 0)
);

create index event_starts_at_idx on event (starts_at);
create index event_owner_id_idx on event (owner_id);

create trigger event_set_updated_at after update on event
    for each row when new.updated_at = old.updated_at
begin
    update event set updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') where id = new.id;
end;
