-- When a shadow user (made for a DID seen on the firehose, F7) became the account of the person
-- who signed in with that DID; NULL for people who signed in before the firehose saw them.
alter table app_user add column claimed_at timestamptz;

-- The dashboard's charts over time (F32): each instance samples its own counters (the numbers
-- /metrics shows, which only ever grow within one process) and the cache's sync state.
create table metric_sample (
    id                   bigint generated always as identity primary key,
    -- One process: its counters start at zero, so deltas are only taken within one instance.
    instance             text             not null,
    taken_at             timestamptz      not null,
    firehose_frames      bigint           not null,
    firehose_records     bigint           not null,
    sync_latency_sum     double precision not null,
    sync_latency_count   bigint           not null,
    publish_sum          double precision not null,
    publish_count        bigint           not null,
    events_total         bigint           not null,
    events_in_sync       bigint           not null
);

create index metric_sample_taken_at_idx on metric_sample (taken_at);
