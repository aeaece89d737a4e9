-- Accounts with an email address and a password (people without Bluesky, or before they connect it).
-- The person is an app_user row with provider 'local'; this table holds how they sign in.
create table local_login (
    user_id           integer primary key references app_user (id) on delete cascade,
    -- Trimmed and lowercased: one account per address however it is typed.
    email             text not null,
    -- A PHC string (Argon2id, with its parameters and salt); never the password.
    password_hash     text not null,
    email_verified_at text,
    created_at        text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at        text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    constraint local_login_email_key unique (email)
);

create trigger local_login_set_updated_at after update on local_login
    for each row when new.updated_at = old.updated_at
begin
    update local_login set updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') where user_id = new.user_id;
end;

-- Single-use links sent by email (confirm the address, choose a new password). Only a SHA-256 of
-- the token is kept: a copy of this table opens no account.
create table account_token (
    token_hash text primary key,
    user_id    integer not null references app_user (id) on delete cascade,
    purpose    text not null,
    expires_at text not null,
    used_at    text,
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    constraint account_token_purpose_check check (purpose in ('verify', 'reset'))
);
create index account_token_user_idx on account_token (user_id, purpose);

-- Sessions carry the generation they were made in: raising it signs the person out everywhere.
alter table app_user add column session_generation integer not null default 0;
-- An admin can stop an account from signing in (and ends its sessions).
alter table app_user add column disabled_at text;
