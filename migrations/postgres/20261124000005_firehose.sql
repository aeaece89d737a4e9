-- People first seen on the firehose, before they signed in (F7): the same row becomes a full user
-- when they do.
alter table app_user add column shadow boolean not null default false;

-- Where the consumer is in each firehose (F17), written in the same transaction as the rows it covers.
create table firehose_cursor (
    endpoint   text        primary key,
    seq        bigint      not null,
    updated_at timestamptz not null default now()
);

-- Frames and records that could not be decoded or applied (F19): kept whole, never fatal.
create table dead_letter (
    id         bigint generated always as identity primary key,
    endpoint   text        not null,
    seq        bigint,
    error      text        not null,
    raw        bytea,
    record     jsonb,
    created_at timestamptz not null default now()
);

create index dead_letter_created_at_idx on dead_letter (created_at);
