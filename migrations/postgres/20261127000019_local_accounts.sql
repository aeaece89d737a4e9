-- Accounts with an email address and a password (people without Bluesky, or before they connect it).
-- The person is an app_user row with provider 'local'; this table holds how they sign in.
create table local_login (
    user_id           bigint      primary key references app_user (id) on delete cascade,
    -- Trimmed and lowercased: one account per address however it is typed.
    email             text        not null,
    -- A PHC string (Argon2id, with its parameters and salt); never the password.
    password_hash     text        not null,
    email_verified_at timestamptz,
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now(),
    constraint local_login_email_key unique (email)
);

create trigger local_login_set_updated_at before update on local_login
    for each row execute function set_updated_at();

-- Single-use links sent by email (confirm the address, choose a new password). Only a SHA-256 of
-- the token is kept: a copy of this table opens no account.
create table account_token (
    token_hash text        primary key,
    user_id    bigint      not null references app_user (id) on delete cascade,
    purpose    text        not null,
    expires_at timestamptz not null,
    used_at    timestamptz,
    created_at timestamptz not null default now(),
    constraint account_token_purpose_check check (purpose in ('verify', 'reset'))
);
create index account_token_user_idx on account_token (user_id, purpose);

-- Sessions carry the generation they were made in: raising it signs the person out everywhere.
alter table app_user add column session_generation bigint not null default 0;
-- An admin can stop an account from signing in (and ends its sessions).
alter table app_user add column disabled_at timestamptz;
