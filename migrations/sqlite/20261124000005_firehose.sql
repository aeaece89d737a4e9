-- People first seen on the firehose, before they signed in (F7): the same row becomes a full user
-- when they do.
alter table app_user add column shadow integer not null default 0;

-- Where the consumer is in each firehose (F17), written in the same transaction as the rows it covers.
create table firehose_cursor (
    endpoint   text    primary key,
    seq        integer not null,
    updated_at text    not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- Frames and records that could not be decoded or applied (F19): kept whole, never fatal.
create table dead_letter (
    id         integer primary key autoincrement,
    endpoint   text not null,
    seq        integer,
    error      text not null,
    raw        blob,
    record     text,
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

create index dead_letter_created_at_idx on dead_letter (created_at);
