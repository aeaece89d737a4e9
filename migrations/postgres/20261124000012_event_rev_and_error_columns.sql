-- Two facts that lived as keys of `source_data` get a column of their own: the repo revision of
-- the event's last known change (which decides whether firehose news is late or new) and the
-- last error syncing it. The keys that duplicated columns (`rkey`, `cid`, `syncStatus`) go, so
-- `source_data` keeps only what has no column and can never go stale.
alter table event add column rev text;
alter table event add column last_sync_error text;

update event
set rev = nullif(source_data ->> 'rev', ''),
    last_sync_error = source_data ->> 'lastSyncError',
    source_data = source_data - 'rev' - 'lastSyncError' - 'rkey' - 'cid' - 'syncStatus';
