-- Keeps updated_at current on every table that calls it from a trigger.
create or replace function set_updated_at() returns trigger as $$
begin
    new.updated_at = now();
    return new;
end;
$$ language plpgsql;

create table app_user (
    id           bigint generated always as identity primary key,
    did          text,
    handle       text,
    display_name text,
    avatar_url   text,
    provider     text        not null,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now(),
    constraint app_user_did_key unique (did),
    constraint app_user_provider_check check (provider in ('bluesky', 'local')),
    constraint app_user_bluesky_has_did check (provider <> 'bluesky' or did is not null)
);

create trigger app_user_set_updated_at before update on app_user
    for each row execute function set_updated_at();

create table event (
    id             bigint generated always as identity primary key,
    owner_id       bigint references app_user (id) on delete cascade,
    name           text        not null,
    description    text,
    starts_at      timestamptz,
    ends_at        timestamptz,
    time_zone      text        not null default 'UTC',
    -- Source tracking (F11): where the event comes from and how it stands against that source.
    source_type    text        not null,
    source_id      text,
    source_url     text,
    source_data    jsonb       not null default '{}'::jsonb,
    last_synced_at timestamptz,
    at_uri         text,
    rkey           text,
    cid            text,
    sync_status    text        not null,
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now(),
    constraint event_at_uri_key unique (at_uri),
    constraint event_source_type_check check (source_type in ('local', 'bluesky')),
    constraint event_sync_status_check check (sync_status in ('local', 'pending', 'in_sync', 'conflict', 'failed')),
    constraint event_name_not_blank check (length(trim(name)) > 0)
);

create index event_starts_at_idx on event (starts_at);
create index event_owner_id_idx on event (owner_id);

create trigger event_set_updated_at before update on event
    for each row execute function set_updated_at();
