-- The record as its owner's PDS holds it, extra fields included, so an update writes them back (F8).
alter table event add column record text;

-- Writes to a PDS that have not been accepted yet (F9). The record key is chosen before the first
-- attempt and kept here, so retrying a create can never make a second record.
create table pending_write (
    id              integer primary key autoincrement,
    owner_id        integer not null references app_user (id) on delete cascade,
    event_id        integer references event (id) on delete cascade,
    operation       text    not null,
    collection      text    not null,
    rkey            text    not null,
    record          text,
    -- The CID the write expects the PDS to hold (swapRecord); null for a create.
    swap_cid        text,
    time_zone       text    not null default 'UTC',
    state           text    not null,
    attempts        integer not null default 0,
    last_error      text,
    next_attempt_at text    not null,
    created_at      text    not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at      text    not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    constraint pending_write_record_key unique (owner_id, collection, rkey),
    constraint pending_write_operation_check check (operation in ('create', 'update', 'delete')),
    constraint pending_write_state_check check (state in ('pending', 'failed', 'conflict'))
);

create index pending_write_due_idx on pending_write (state, next_attempt_at);

create trigger pending_write_set_updated_at after update on pending_write
    for each row when new.updated_at = old.updated_at
begin
    update pending_write set updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') where id = new.id;
end;
