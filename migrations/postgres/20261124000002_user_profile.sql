-- Profile read from the user's PDS (app.bsky.actor.profile/self), F5.
alter table app_user add column description text;
alter table app_user add column profile_synced_at timestamptz;
