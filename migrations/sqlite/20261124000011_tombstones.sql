-- Records deleted on their PDS, with the repo revision that deleted them. The firehose can deliver
-- an earlier change to a record after our own delete of it went through; a change whose revision
-- is not newer than the delete must not bring the record back into the cache. Kept for a week.
create table tombstone (
    at_uri     text        primary key,
    rev        text        not null,
    deleted_at text        not null
);

create index tombstone_deleted_at_idx on tombstone (deleted_at);
